CREATE TABLE "crl_delta_claims" (
	"ca_id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "crl_deltas" (
	"ca_id" text PRIMARY KEY NOT NULL,
	"crl_number" bigint NOT NULL,
	"base_crl_number" bigint NOT NULL,
	"this_update" bigint NOT NULL,
	"next_update" bigint NOT NULL,
	"stamp" text NOT NULL,
	"der" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "crl_delta_claims" ADD CONSTRAINT "crl_delta_claims_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "crl_deltas" ADD CONSTRAINT "crl_deltas_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;