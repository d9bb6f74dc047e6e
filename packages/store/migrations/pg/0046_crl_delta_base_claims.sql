CREATE TABLE "crl_delta_base_claims" (
	"ca_id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "crl_delta_base_claims" ADD CONSTRAINT "crl_delta_base_claims_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;