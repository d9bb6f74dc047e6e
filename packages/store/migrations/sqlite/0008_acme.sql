CREATE TABLE `acme_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`ca_id` text NOT NULL,
	`thumbprint` text NOT NULL,
	`jwk` text NOT NULL,
	`status` text NOT NULL,
	`contact` text NOT NULL,
	`eab_key_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `acme_accounts_thumbprint_uq` ON `acme_accounts` (`ca_id`,`thumbprint`);--> statement-breakpoint
CREATE TABLE `acme_authorizations` (
	`id` text PRIMARY KEY NOT NULL,
	`order_id` text NOT NULL,
	`account_id` text NOT NULL,
	`identifier_type` text NOT NULL,
	`identifier_value` text NOT NULL,
	`wildcard` integer NOT NULL,
	`status` text NOT NULL,
	`expires_at` integer NOT NULL,
	`challenges` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`order_id`) REFERENCES `acme_orders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `acme_authorizations_order_idx` ON `acme_authorizations` (`order_id`);--> statement-breakpoint
CREATE INDEX `acme_authorizations_identifier_idx` ON `acme_authorizations` (`account_id`,`identifier_value`);--> statement-breakpoint
CREATE TABLE `acme_eab_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`ca_id` text NOT NULL,
	`hmac_key` text NOT NULL,
	`account_id` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `acme_nonces` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `acme_nonces_expires_idx` ON `acme_nonces` (`expires_at`);--> statement-breakpoint
CREATE TABLE `acme_orders` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`ca_id` text NOT NULL,
	`status` text NOT NULL,
	`identifiers` text NOT NULL,
	`not_before` integer,
	`not_after` integer,
	`expires_at` integer NOT NULL,
	`error` text,
	`certificate_id` text,
	`replaces` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `acme_accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `acme_orders_account_idx` ON `acme_orders` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `acme_orders_certificate_idx` ON `acme_orders` (`certificate_id`);