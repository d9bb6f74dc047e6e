CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"user_id" text,
	"role" text NOT NULL,
	"scopes" text NOT NULL,
	"expires_at" bigint,
	"last_used_at" bigint,
	"revoked_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"time" bigint NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"outcome" text NOT NULL,
	"details" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "certificate_authorities" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"parent_id" text,
	"subject_dn" text NOT NULL,
	"issuer_dn" text NOT NULL,
	"serial_hex" text,
	"not_before" bigint,
	"not_after" bigint,
	"key_uri" text NOT NULL,
	"key_type" text NOT NULL,
	"key_backend" text NOT NULL,
	"status" text NOT NULL,
	"path_len" integer,
	"name_constraints" text,
	"certificate_pem" text,
	"csr_pem" text,
	"ski_hex" text,
	"fingerprint_sha256" text,
	"crl_number" bigint DEFAULT 0 NOT NULL,
	"revoked_at" bigint,
	"revocation_reason" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "certificate_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"csr_pem" text NOT NULL,
	"subject_dn" text NOT NULL,
	"sans" text NOT NULL,
	"profile" text NOT NULL,
	"validity_ms" bigint,
	"status" text NOT NULL,
	"requester" text NOT NULL,
	"reviewer" text,
	"reason" text,
	"certificate_id" text,
	"created_at" bigint NOT NULL,
	"reviewed_at" bigint,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "certificates" (
	"id" text PRIMARY KEY NOT NULL,
	"ca_id" text NOT NULL,
	"serial_hex" text NOT NULL,
	"subject_dn" text NOT NULL,
	"common_name" text,
	"sans" text NOT NULL,
	"profile" text NOT NULL,
	"key_type" text NOT NULL,
	"not_before" bigint NOT NULL,
	"not_after" bigint NOT NULL,
	"status" text NOT NULL,
	"revoked_at" bigint,
	"revocation_reason" text,
	"fingerprint_sha256" text NOT NULL,
	"certificate_pem" text NOT NULL,
	"request_id" text,
	"issued_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_blobs" (
	"id" text PRIMARY KEY NOT NULL,
	"data" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"user_id" text NOT NULL,
	"csrf_token" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text NOT NULL,
	"disabled" boolean NOT NULL,
	"failed_logins" integer DEFAULT 0 NOT NULL,
	"locked_until" bigint,
	"must_change_password" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "certificate_requests" ADD CONSTRAINT "certificate_requests_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_ca_id_certificate_authorities_id_fk" FOREIGN KEY ("ca_id") REFERENCES "public"."certificate_authorities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_token_hash_uq" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_id_uq" ON "audit_events" USING btree ("id");--> statement-breakpoint
CREATE INDEX "audit_events_action_seq_idx" ON "audit_events" USING btree ("action","seq");--> statement-breakpoint
CREATE INDEX "audit_events_actor_seq_idx" ON "audit_events" USING btree ("actor","seq");--> statement-breakpoint
CREATE INDEX "audit_events_target_seq_idx" ON "audit_events" USING btree ("target","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "certificate_authorities_name_uq" ON "certificate_authorities" USING btree ("name");--> statement-breakpoint
CREATE INDEX "certificate_authorities_parent_idx" ON "certificate_authorities" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "certificate_requests_status_created_idx" ON "certificate_requests" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "certificate_requests_created_idx" ON "certificate_requests" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "certificate_requests_requester_created_idx" ON "certificate_requests" USING btree ("requester","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "certificates_ca_serial_uq" ON "certificates" USING btree ("ca_id","serial_hex");--> statement-breakpoint
CREATE INDEX "certificates_fingerprint_idx" ON "certificates" USING btree ("fingerprint_sha256");--> statement-breakpoint
CREATE INDEX "certificates_serial_idx" ON "certificates" USING btree ("serial_hex");--> statement-breakpoint
CREATE INDEX "certificates_ca_status_idx" ON "certificates" USING btree ("ca_id","status");--> statement-breakpoint
CREATE INDEX "certificates_status_not_after_idx" ON "certificates" USING btree ("status","not_after");--> statement-breakpoint
CREATE INDEX "certificates_created_idx" ON "certificates" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "certificates_ca_created_idx" ON "certificates" USING btree ("ca_id","created_at","id");--> statement-breakpoint
CREATE INDEX "certificates_ca_profile_status_idx" ON "certificates" USING btree ("ca_id","profile","status");--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_token_hash_uq" ON "sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "sessions_expires_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_username_uq" ON "users" USING btree ("username");