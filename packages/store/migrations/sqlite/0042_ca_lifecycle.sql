ALTER TABLE `certificate_authorities` ADD `predecessor_id` text;--> statement-breakpoint
ALTER TABLE `certificate_authorities` ADD `certificate_history` text;