ALTER TABLE "certificates" ADD COLUMN "provisioner" text;--> statement-breakpoint
CREATE INDEX "certificates_provisioner_created_idx" ON "certificates" USING btree ("provisioner","created_at","id");--> statement-breakpoint
-- the provisioner of the certificates issued before this migration, from their certificate.issued audit event
UPDATE "certificates" SET "provisioner" = (
  SELECT (a."details"::json -> 'provisioner' ->> 'id') FROM "audit_events" a
  WHERE a."target" = "certificates"."id" AND a."action" = 'certificate.issued'
  ORDER BY a."seq" LIMIT 1
);
