CREATE TABLE "certificate_keys" (
	"certificate_id" text PRIMARY KEY NOT NULL,
	"sealed_key" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "renewed_from" text;--> statement-breakpoint
ALTER TABLE "certificate_keys" ADD CONSTRAINT "certificate_keys_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "certificates_renewed_from_idx" ON "certificates" USING btree ("renewed_from");