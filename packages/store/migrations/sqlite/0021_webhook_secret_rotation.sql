ALTER TABLE `notification_rules` ADD `previous_secret` text;--> statement-breakpoint
ALTER TABLE `notification_rules` ADD `previous_secret_until` integer;
