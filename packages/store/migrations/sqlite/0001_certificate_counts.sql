CREATE TABLE `certificate_counts` (
	`ca_id` text NOT NULL,
	`profile` text NOT NULL,
	`status` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`ca_id`, `profile`, `status`),
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Seed the counters from the certificates already stored (hand-written; runs before the index it can use is dropped).
INSERT INTO `certificate_counts` (`ca_id`, `profile`, `status`, `count`) SELECT `ca_id`, `profile`, `status`, count(*) FROM `certificates` GROUP BY `ca_id`, `profile`, `status`;--> statement-breakpoint
DROP INDEX `certificates_serial_idx`;--> statement-breakpoint
DROP INDEX `certificates_ca_profile_status_idx`;