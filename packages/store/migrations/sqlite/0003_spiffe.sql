CREATE TABLE `spiffe_cas` (
	`id` text PRIMARY KEY NOT NULL,
	`trust_domain` text NOT NULL,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`rotated_at` integer,
	`keep_until` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `spiffe_cas_role_idx` ON `spiffe_cas` (`role`,`status`);--> statement-breakpoint
CREATE TABLE `spiffe_denied_ids` (
	`id` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`denied_by` text NOT NULL,
	`denied_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `spiffe_svids` (
	`id` text PRIMARY KEY NOT NULL,
	`ca_id` text NOT NULL,
	`spiffe_id` text NOT NULL,
	`service_type` text NOT NULL,
	`not_after` integer NOT NULL,
	`superseded_by` text,
	`superseded_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `spiffe_svids_spiffe_id_idx` ON `spiffe_svids` (`spiffe_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `spiffe_svids_not_after_idx` ON `spiffe_svids` (`not_after`);--> statement-breakpoint
CREATE INDEX `spiffe_svids_ca_idx` ON `spiffe_svids` (`ca_id`,`not_after`);