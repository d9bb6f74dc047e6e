CREATE TABLE `crl_delta_claims` (
	`ca_id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `crl_deltas` (
	`ca_id` text PRIMARY KEY NOT NULL,
	`crl_number` integer NOT NULL,
	`base_crl_number` integer NOT NULL,
	`this_update` integer NOT NULL,
	`next_update` integer NOT NULL,
	`stamp` text NOT NULL,
	`der` text NOT NULL,
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
