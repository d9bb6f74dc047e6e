CREATE TABLE "bulk_job_files" (
	"job_id" text NOT NULL,
	"name" text NOT NULL,
	"file_name" text NOT NULL,
	"media_type" text NOT NULL,
	"contains_private_key" boolean NOT NULL,
	"body" text NOT NULL,
	CONSTRAINT "bulk_job_files_job_id_name_pk" PRIMARY KEY("job_id","name")
);
--> statement-breakpoint
CREATE TABLE "bulk_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"actor_id" text NOT NULL,
	"kind" text NOT NULL,
	"state" text NOT NULL,
	"phase" text NOT NULL,
	"done" integer NOT NULL,
	"total" integer NOT NULL,
	"dry_run" boolean NOT NULL,
	"batch_id" text,
	"succeeded" integer NOT NULL,
	"failed" integer NOT NULL,
	"error_code" text,
	"error_message" text,
	"results" text NOT NULL,
	"files" text NOT NULL,
	"instance_id" text NOT NULL,
	"heartbeat_at" bigint NOT NULL,
	"started_at" bigint NOT NULL,
	"finished_at" bigint
);
--> statement-breakpoint
ALTER TABLE "bulk_job_files" ADD CONSTRAINT "bulk_job_files_job_id_bulk_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."bulk_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bulk_jobs_actor_state_idx" ON "bulk_jobs" USING btree ("actor_id","state");--> statement-breakpoint
CREATE INDEX "bulk_jobs_finished_idx" ON "bulk_jobs" USING btree ("finished_at");