ALTER TABLE "notification_rules" ADD COLUMN "previous_secret" text;--> statement-breakpoint
ALTER TABLE "notification_rules" ADD COLUMN "previous_secret_until" bigint;
