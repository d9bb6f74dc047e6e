CREATE TABLE "ssh_blocks" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"host_id" text,
	"reason" text,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_cas" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"environment_id" text NOT NULL,
	"cert_type" text NOT NULL,
	"key_uri" text NOT NULL,
	"key_type" text NOT NULL,
	"key_backend" text NOT NULL,
	"public_key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"status" text NOT NULL,
	"max_ttl_ms" bigint NOT NULL,
	"default_ttl_ms" bigint NOT NULL,
	"retired_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_certificates" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"serial" text NOT NULL,
	"key_id" text NOT NULL,
	"cert_type" text NOT NULL,
	"principals" text NOT NULL,
	"key_fingerprint" text NOT NULL,
	"valid_after" bigint NOT NULL,
	"valid_before" bigint NOT NULL,
	"critical_options" text NOT NULL,
	"extensions" text NOT NULL,
	"certificate" text NOT NULL,
	"status" text NOT NULL,
	"revoked_at" bigint,
	"revocation_reason" text,
	"ssh_user_id" text,
	"host_id" text,
	"provisioner" text NOT NULL,
	"issued_by" text NOT NULL,
	"fleet_token_id" text,
	"idempotency_key" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_environments" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_fleet_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"environment_id" text NOT NULL,
	"operations" text NOT NULL,
	"token_hash" text NOT NULL,
	"rate_per_minute" integer NOT NULL,
	"expires_at" bigint,
	"revoked_at" bigint,
	"last_used_at" bigint,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_host_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"host_id" text NOT NULL,
	"account" text NOT NULL,
	"principal" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_hosts" (
	"id" text PRIMARY KEY NOT NULL,
	"environment_id" text NOT NULL,
	"name" text NOT NULL,
	"principals" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_krl_versions" (
	"scope" text PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_principal_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"principal" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_principals" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssh_users" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"disabled" boolean NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ssh_blocks" ADD CONSTRAINT "ssh_blocks_user_id_ssh_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."ssh_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_blocks" ADD CONSTRAINT "ssh_blocks_host_id_ssh_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."ssh_hosts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_cas" ADD CONSTRAINT "ssh_cas_environment_id_ssh_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."ssh_environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_certificates" ADD CONSTRAINT "ssh_certificates_ca_id_ssh_cas_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."ssh_cas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_fleet_tokens" ADD CONSTRAINT "ssh_fleet_tokens_environment_id_ssh_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."ssh_environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_host_accounts" ADD CONSTRAINT "ssh_host_accounts_host_id_ssh_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."ssh_hosts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_hosts" ADD CONSTRAINT "ssh_hosts_environment_id_ssh_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."ssh_environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_principal_grants" ADD CONSTRAINT "ssh_principal_grants_user_id_ssh_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."ssh_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ssh_blocks_user_idx" ON "ssh_blocks" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ssh_blocks_host_idx" ON "ssh_blocks" USING btree ("host_id");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_cas_name_uq" ON "ssh_cas" USING btree ("name");--> statement-breakpoint
CREATE INDEX "ssh_cas_environment_idx" ON "ssh_cas" USING btree ("environment_id","cert_type","status");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_certificates_ca_serial_uq" ON "ssh_certificates" USING btree ("ca_id","serial");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_certificates_idempotency_uq" ON "ssh_certificates" USING btree ("fleet_token_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "ssh_certificates_ca_status_idx" ON "ssh_certificates" USING btree ("ca_id","status");--> statement-breakpoint
CREATE INDEX "ssh_certificates_created_idx" ON "ssh_certificates" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_environments_name_uq" ON "ssh_environments" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_fleet_tokens_token_hash_uq" ON "ssh_fleet_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_host_accounts_uq" ON "ssh_host_accounts" USING btree ("host_id","account","principal");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_hosts_environment_name_uq" ON "ssh_hosts" USING btree ("environment_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_principal_grants_uq" ON "ssh_principal_grants" USING btree ("user_id","principal");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_principals_name_uq" ON "ssh_principals" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "ssh_users_name_uq" ON "ssh_users" USING btree ("name");