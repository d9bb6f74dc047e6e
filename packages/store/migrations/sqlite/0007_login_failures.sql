CREATE TABLE `login_failures` (
	`id` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`last_failure_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `login_failures_last_idx` ON `login_failures` (`last_failure_at`);