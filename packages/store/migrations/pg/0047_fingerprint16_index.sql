DROP INDEX "certificates_fingerprint_idx";--> statement-breakpoint
CREATE INDEX "certificates_fingerprint16_idx" ON "certificates" USING btree (substr("fingerprint_sha256", 1, 16));