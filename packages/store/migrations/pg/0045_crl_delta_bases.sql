CREATE TABLE "crl_delta_bases" (
	"ca_id" text PRIMARY KEY NOT NULL,
	"crl_number" bigint NOT NULL,
	"this_update" bigint NOT NULL,
	"next_update" bigint NOT NULL,
	"der" text NOT NULL,
	"serials" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "crl_delta_bases" ADD CONSTRAINT "crl_delta_bases_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;