CREATE TABLE "certificate_names" (
	"name" text NOT NULL,
	"certificate_id" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "certificate_names" ADD CONSTRAINT "certificate_names_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "certificate_names_name_idx" ON "certificate_names" USING btree ("name" text_pattern_ops,"certificate_id");--> statement-breakpoint
CREATE INDEX "certificate_names_certificate_idx" ON "certificate_names" USING btree ("certificate_id");--> statement-breakpoint
-- search terms of the certificates issued before this migration (certificate-search-terms.ts, the same rule):
-- common name, SANs and serial, lowercased, each from the start and after every separator . - _ @ / :
INSERT INTO "certificate_names" ("name", "certificate_id")
WITH RECURSIVE
  v(id, value) AS (
    SELECT id, lower(btrim(common_name)) FROM certificates WHERE common_name IS NOT NULL
    UNION
    SELECT c.id, lower(btrim(j.value))
    FROM certificates c
    CROSS JOIN LATERAL json_each((c.sans)::json) k
    CROSS JOIN LATERAL json_array_elements_text(
      CASE WHEN json_typeof(k.value) = 'array' THEN k.value ELSE '[]'::json END
    ) j(value)
    WHERE k.key IN ('dns', 'ip', 'email', 'uri')
  ),
  t(id, value, pos) AS (
    SELECT id, value, 1 FROM v WHERE value <> ''
    UNION ALL
    SELECT id, value, pos + 1 FROM t WHERE pos < length(value)
  )
SELECT substr(value, pos, 200), id FROM t
WHERE pos = 1 OR substr(value, pos - 1, 1) IN ('.', '-', '_', '@', '/', ':')
UNION
SELECT lower(serial_hex), id FROM certificates;
