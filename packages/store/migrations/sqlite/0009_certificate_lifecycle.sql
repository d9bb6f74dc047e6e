CREATE TABLE `certificate_keys` (
	`certificate_id` text PRIMARY KEY NOT NULL,
	`sealed_key` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`certificate_id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `certificates` ADD `renewed_from` text;--> statement-breakpoint
CREATE INDEX `certificates_renewed_from_idx` ON `certificates` (`renewed_from`);