CREATE TABLE `bulk_job_files` (
	`job_id` text NOT NULL,
	`name` text NOT NULL,
	`file_name` text NOT NULL,
	`media_type` text NOT NULL,
	`contains_private_key` integer NOT NULL,
	`body` text NOT NULL,
	PRIMARY KEY(`job_id`, `name`),
	FOREIGN KEY (`job_id`) REFERENCES `bulk_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `bulk_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`actor_id` text NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`done` integer NOT NULL,
	`total` integer NOT NULL,
	`dry_run` integer NOT NULL,
	`batch_id` text,
	`succeeded` integer NOT NULL,
	`failed` integer NOT NULL,
	`error_code` text,
	`error_message` text,
	`results` text NOT NULL,
	`files` text NOT NULL,
	`instance_id` text NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `bulk_jobs_actor_state_idx` ON `bulk_jobs` (`actor_id`,`state`);--> statement-breakpoint
CREATE INDEX `bulk_jobs_finished_idx` ON `bulk_jobs` (`finished_at`);