CREATE TABLE "certificate_counts" (
	"ca_id" text NOT NULL,
	"profile" text NOT NULL,
	"status" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "certificate_counts_ca_id_profile_status_pk" PRIMARY KEY("ca_id","profile","status")
);
--> statement-breakpoint
-- Seed the counters from the certificates already stored (hand-written; runs before the index it can use is dropped).
INSERT INTO "certificate_counts" ("ca_id", "profile", "status", "count") SELECT "ca_id", "profile", "status", count(*) FROM "certificates" GROUP BY "ca_id", "profile", "status";--> statement-breakpoint
DROP INDEX "certificates_serial_idx";--> statement-breakpoint
DROP INDEX "certificates_ca_profile_status_idx";--> statement-breakpoint
ALTER TABLE "certificate_counts" ADD CONSTRAINT "certificate_counts_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;