CREATE TABLE "spiffe_cas" (
	"id" text PRIMARY KEY NOT NULL,
	"trust_domain" text NOT NULL,
	"role" text NOT NULL,
	"status" text NOT NULL,
	"rotated_at" bigint,
	"keep_until" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spiffe_denied_ids" (
	"id" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"denied_by" text NOT NULL,
	"denied_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spiffe_svids" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"spiffe_id" text NOT NULL,
	"service_type" text NOT NULL,
	"not_after" bigint NOT NULL,
	"superseded_by" text,
	"superseded_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "spiffe_cas" ADD CONSTRAINT "spiffe_cas_id_certificate_authorities_id_fk" FOREIGN KEY ("id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "spiffe_svids" ADD CONSTRAINT "spiffe_svids_id_certificates_id_fk" FOREIGN KEY ("id") REFERENCES "public"."certificates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "spiffe_cas_role_idx" ON "spiffe_cas" USING btree ("role","status");--> statement-breakpoint
CREATE INDEX "spiffe_svids_spiffe_id_idx" ON "spiffe_svids" USING btree ("spiffe_id","created_at");--> statement-breakpoint
CREATE INDEX "spiffe_svids_not_after_idx" ON "spiffe_svids" USING btree ("not_after");--> statement-breakpoint
CREATE INDEX "spiffe_svids_ca_idx" ON "spiffe_svids" USING btree ("ca_id","not_after");