ALTER TABLE "login_failures" ADD COLUMN "username" text;--> statement-breakpoint
CREATE INDEX "login_failures_username_idx" ON "login_failures" USING btree ("username");