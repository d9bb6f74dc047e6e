CREATE TABLE "acme_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"thumbprint" text NOT NULL,
	"jwk" text NOT NULL,
	"status" text NOT NULL,
	"contact" text NOT NULL,
	"eab_key_id" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_authorizations" (
	"id" text PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"account_id" text NOT NULL,
	"identifier_type" text NOT NULL,
	"identifier_value" text NOT NULL,
	"wildcard" boolean NOT NULL,
	"status" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"challenges" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_eab_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"hmac_key" text NOT NULL,
	"account_id" text,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "acme_nonces" (
	"id" text PRIMARY KEY NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"ca_id" text NOT NULL,
	"status" text NOT NULL,
	"identifiers" text NOT NULL,
	"not_before" bigint,
	"not_after" bigint,
	"expires_at" bigint NOT NULL,
	"error" text,
	"certificate_id" text,
	"replaces" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "acme_accounts" ADD CONSTRAINT "acme_accounts_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "acme_authorizations" ADD CONSTRAINT "acme_authorizations_order_id_acme_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."acme_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "acme_eab_keys" ADD CONSTRAINT "acme_eab_keys_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "acme_orders" ADD CONSTRAINT "acme_orders_account_id_acme_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."acme_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "acme_accounts_thumbprint_uq" ON "acme_accounts" USING btree ("ca_id","thumbprint");--> statement-breakpoint
CREATE INDEX "acme_authorizations_order_idx" ON "acme_authorizations" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "acme_authorizations_identifier_idx" ON "acme_authorizations" USING btree ("account_id","identifier_value");--> statement-breakpoint
CREATE INDEX "acme_nonces_expires_idx" ON "acme_nonces" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "acme_orders_account_idx" ON "acme_orders" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "acme_orders_certificate_idx" ON "acme_orders" USING btree ("certificate_id");