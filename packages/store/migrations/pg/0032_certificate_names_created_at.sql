-- Issue #12 item 7: each search term carries its certificate's creation time (which never changes), in the name
-- index after the name. A search reads its matches in the listing's order from the index alone — the time and id of
-- every match without a row of "certificates" — and fetches only the certificates of the page: a serial prefix of 8
-- hex digits (a 65.5 s window, 65,536 certificates at 1,000/s) under 630,000 newer rows read every match's row
-- (≈ 480 ms on 1,000,000 certificates). The table is rebuilt rather than updated in place (an UPDATE of every term
-- writes each row twice and leaves as many dead ones): filled from the old terms and their certificates' times, then
-- both indexes built once. The delete trigger of 0027 finds the table by name and keeps working.
CREATE TABLE "__new_certificate_names" (
	"name" text NOT NULL,
	"certificate_id" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO "__new_certificate_names" ("name", "certificate_id", "created_at")
SELECT n."name", n."certificate_id", c."created_at" FROM "certificate_names" n
JOIN "certificates" c ON c."id" = n."certificate_id";--> statement-breakpoint
DROP TABLE "certificate_names";--> statement-breakpoint
ALTER TABLE "__new_certificate_names" RENAME TO "certificate_names";--> statement-breakpoint
CREATE INDEX "certificate_names_name_idx" ON "certificate_names" USING btree ("name" text_pattern_ops,"created_at","certificate_id");--> statement-breakpoint
CREATE INDEX "certificate_names_certificate_idx" ON "certificate_names" USING btree ("certificate_id");
