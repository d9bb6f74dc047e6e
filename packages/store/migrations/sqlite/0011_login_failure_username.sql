ALTER TABLE `login_failures` ADD `username` text;--> statement-breakpoint
CREATE INDEX `login_failures_username_idx` ON `login_failures` (`username`);