ALTER TABLE "certificate_authorities" ADD COLUMN "predecessor_id" text;--> statement-breakpoint
ALTER TABLE "certificate_authorities" ADD COLUMN "certificate_history" text;