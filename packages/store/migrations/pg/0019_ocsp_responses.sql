CREATE TABLE "ocsp_responses" (
	"certificate_id" text PRIMARY KEY NOT NULL,
	"status_key" text NOT NULL,
	"cert_id" text NOT NULL,
	"der" text NOT NULL,
	"this_update" bigint NOT NULL,
	"next_update" bigint NOT NULL,
	"refresh_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ocsp_responses" ADD CONSTRAINT "ocsp_responses_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ocsp_responses_refresh_idx" ON "ocsp_responses" USING btree ("refresh_at");