-- Issue #12 (CPU per issued certificate): renewals are few, so index only the certificates that renew another
-- (findRenewalsOf: renewed_from = $1); an issuance with renewed_from null writes no entry. (SQLite's 0025 also makes
-- certificate_names WITHOUT ROWID; PostgreSQL tables have no rowid B-tree, nothing changes there.)
DROP INDEX "certificates_renewed_from_idx";--> statement-breakpoint
CREATE INDEX "certificates_renewed_from_idx" ON "certificates" USING btree ("renewed_from") WHERE "certificates"."renewed_from" is not null;
