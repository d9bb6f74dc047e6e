-- Issue #12 (CPU per issued certificate): fewer B-tree inserts per issuance.
-- certificate_names becomes a WITHOUT ROWID table whose primary key (name, certificate_id) is the name index itself:
-- each search term costs 2 B-tree inserts (primary key + certificate_id index) instead of 3 (rowid table + 2 indexes).
-- Written by hand: Drizzle's schema cannot declare WITHOUT ROWID (its snapshot records the primary key only; the
-- parity test maps that key to PostgreSQL's certificate_names_name_idx). Terms are distinct per certificate.
CREATE TABLE `__new_certificate_names` (
	`name` text NOT NULL,
	`certificate_id` text NOT NULL,
	PRIMARY KEY(`name`, `certificate_id`),
	FOREIGN KEY (`certificate_id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_certificate_names`("name", "certificate_id")
SELECT DISTINCT "name", "certificate_id" FROM `certificate_names`;--> statement-breakpoint
DROP TABLE `certificate_names`;--> statement-breakpoint
ALTER TABLE `__new_certificate_names` RENAME TO `certificate_names`;--> statement-breakpoint
CREATE INDEX `certificate_names_certificate_idx` ON `certificate_names` (`certificate_id`);--> statement-breakpoint
-- renewals are few: index only the certificates that renew another (findRenewalsOf: renewed_from = ?)
DROP INDEX `certificates_renewed_from_idx`;--> statement-breakpoint
CREATE INDEX `certificates_renewed_from_idx` ON `certificates` (`renewed_from`) WHERE "certificates"."renewed_from" is not null;
