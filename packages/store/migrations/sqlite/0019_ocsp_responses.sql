CREATE TABLE `ocsp_responses` (
	`certificate_id` text PRIMARY KEY NOT NULL,
	`status_key` text NOT NULL,
	`cert_id` text NOT NULL,
	`der` text NOT NULL,
	`this_update` integer NOT NULL,
	`next_update` integer NOT NULL,
	`refresh_at` integer NOT NULL,
	FOREIGN KEY (`certificate_id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ocsp_responses_refresh_idx` ON `ocsp_responses` (`refresh_at`);