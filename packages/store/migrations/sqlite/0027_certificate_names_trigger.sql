-- Issue #12: certificate_names loses its foreign key to certificates, as on PostgreSQL (where its check was a
-- separate query per search name in the batch statement); here the check was an index probe per name in the commit.
-- The names are written only with their certificate, and the trigger below removes them with it — what ON DELETE
-- CASCADE did (certificate delete, SPIFFE purge, a CA's deletion cascading to its certificates). SQLite cannot drop
-- a constraint: the table is rebuilt, by hand to keep it WITHOUT ROWID (as in 0025; Drizzle cannot declare it).
CREATE TABLE `__new_certificate_names` (
	`name` text NOT NULL,
	`certificate_id` text NOT NULL,
	PRIMARY KEY(`name`, `certificate_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_certificate_names`("name", "certificate_id") SELECT "name", "certificate_id" FROM `certificate_names`;--> statement-breakpoint
DROP TABLE `certificate_names`;--> statement-breakpoint
ALTER TABLE `__new_certificate_names` RENAME TO `certificate_names`;--> statement-breakpoint
CREATE INDEX `certificate_names_certificate_idx` ON `certificate_names` (`certificate_id`);--> statement-breakpoint
CREATE TRIGGER `certificates_delete_names` AFTER DELETE ON `certificates` BEGIN
  DELETE FROM `certificate_names` WHERE `certificate_id` = OLD.`id`;
END;
