-- 0026: one stored OCSP response per certificate AND CertID hash algorithm (SHA-1, SHA-256); the responses already
-- stored answer SHA-1 CertIDs. No foreign key: `certificate_id` is also a subordinate CA's id (docs/ocsp.md).
ALTER TABLE "ocsp_responses" DROP CONSTRAINT "ocsp_responses_certificate_id_certificates_id_fk";--> statement-breakpoint
ALTER TABLE "ocsp_responses" DROP CONSTRAINT "ocsp_responses_pkey";--> statement-breakpoint
ALTER TABLE "ocsp_responses" ADD COLUMN "hash_alg" text DEFAULT 'sha1' NOT NULL;--> statement-breakpoint
ALTER TABLE "ocsp_responses" ALTER COLUMN "hash_alg" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "ocsp_responses" ADD CONSTRAINT "ocsp_responses_certificate_id_hash_alg_pk" PRIMARY KEY("certificate_id","hash_alg");
