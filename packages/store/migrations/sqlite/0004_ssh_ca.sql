CREATE TABLE `ssh_blocks` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`host_id` text,
	`reason` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `ssh_users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `ssh_hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ssh_blocks_user_idx` ON `ssh_blocks` (`user_id`);--> statement-breakpoint
CREATE INDEX `ssh_blocks_host_idx` ON `ssh_blocks` (`host_id`);--> statement-breakpoint
CREATE TABLE `ssh_cas` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`environment_id` text NOT NULL,
	`cert_type` text NOT NULL,
	`key_uri` text NOT NULL,
	`key_type` text NOT NULL,
	`key_backend` text NOT NULL,
	`public_key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`status` text NOT NULL,
	`max_ttl_ms` integer NOT NULL,
	`default_ttl_ms` integer NOT NULL,
	`retired_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`environment_id`) REFERENCES `ssh_environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_cas_name_uq` ON `ssh_cas` (`name`);--> statement-breakpoint
CREATE INDEX `ssh_cas_environment_idx` ON `ssh_cas` (`environment_id`,`cert_type`,`status`);--> statement-breakpoint
CREATE TABLE `ssh_certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`ca_id` text NOT NULL,
	`serial` text NOT NULL,
	`key_id` text NOT NULL,
	`cert_type` text NOT NULL,
	`principals` text NOT NULL,
	`key_fingerprint` text NOT NULL,
	`valid_after` integer NOT NULL,
	`valid_before` integer NOT NULL,
	`critical_options` text NOT NULL,
	`extensions` text NOT NULL,
	`certificate` text NOT NULL,
	`status` text NOT NULL,
	`revoked_at` integer,
	`revocation_reason` text,
	`ssh_user_id` text,
	`host_id` text,
	`provisioner` text NOT NULL,
	`issued_by` text NOT NULL,
	`fleet_token_id` text,
	`idempotency_key` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`ca_id`) REFERENCES `ssh_cas`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_certificates_ca_serial_uq` ON `ssh_certificates` (`ca_id`,`serial`);--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_certificates_idempotency_uq` ON `ssh_certificates` (`fleet_token_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `ssh_certificates_ca_status_idx` ON `ssh_certificates` (`ca_id`,`status`);--> statement-breakpoint
CREATE INDEX `ssh_certificates_created_idx` ON `ssh_certificates` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `ssh_environments` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_environments_name_uq` ON `ssh_environments` (`name`);--> statement-breakpoint
CREATE TABLE `ssh_fleet_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`environment_id` text NOT NULL,
	`operations` text NOT NULL,
	`token_hash` text NOT NULL,
	`rate_per_minute` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`last_used_at` integer,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`environment_id`) REFERENCES `ssh_environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_fleet_tokens_token_hash_uq` ON `ssh_fleet_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `ssh_host_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`host_id` text NOT NULL,
	`account` text NOT NULL,
	`principal` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `ssh_hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_host_accounts_uq` ON `ssh_host_accounts` (`host_id`,`account`,`principal`);--> statement-breakpoint
CREATE TABLE `ssh_hosts` (
	`id` text PRIMARY KEY NOT NULL,
	`environment_id` text NOT NULL,
	`name` text NOT NULL,
	`principals` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`environment_id`) REFERENCES `ssh_environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_hosts_environment_name_uq` ON `ssh_hosts` (`environment_id`,`name`);--> statement-breakpoint
CREATE TABLE `ssh_krl_versions` (
	`scope` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ssh_principal_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`principal` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `ssh_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_principal_grants_uq` ON `ssh_principal_grants` (`user_id`,`principal`);--> statement-breakpoint
CREATE TABLE `ssh_principals` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_principals_name_uq` ON `ssh_principals` (`name`);--> statement-breakpoint
CREATE TABLE `ssh_users` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`disabled` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_users_name_uq` ON `ssh_users` (`name`);