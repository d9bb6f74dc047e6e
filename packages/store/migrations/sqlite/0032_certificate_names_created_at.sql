-- Issue #12 item 7: each search term carries its certificate's creation time (which never changes), in the primary
-- key before the certificate id. A search reads its matches in the listing's order from this key alone — the time
-- and id of every match without a row of `certificates` — and fetches only the certificates of the page: a serial
-- prefix of 8 hex digits (a 65.5 s window, 65,536 certificates at 1,000/s) under 630,000 newer rows read every match's
-- row (137 ms on 1,000,000 certificates). A primary key cannot change in place: the table is rebuilt, by hand to keep
-- it WITHOUT ROWID (as in 0025 and 0027), filled in key order from the old terms and their certificates' times; the
-- delete trigger of 0027 is written again with it.
DROP TRIGGER `certificates_delete_names`;--> statement-breakpoint
CREATE TABLE `__new_certificate_names` (
	`name` text NOT NULL,
	`certificate_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`name`, `created_at`, `certificate_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_certificate_names`("name", "certificate_id", "created_at")
SELECT n."name", n."certificate_id", c."created_at" FROM `certificate_names` n
JOIN `certificates` c ON c."id" = n."certificate_id"
ORDER BY 1, 3, 2;--> statement-breakpoint
DROP TABLE `certificate_names`;--> statement-breakpoint
ALTER TABLE `__new_certificate_names` RENAME TO `certificate_names`;--> statement-breakpoint
CREATE INDEX `certificate_names_certificate_idx` ON `certificate_names` (`certificate_id`);--> statement-breakpoint
CREATE TRIGGER `certificates_delete_names` AFTER DELETE ON `certificates` BEGIN
  DELETE FROM `certificate_names` WHERE `certificate_id` = OLD.`id`;
END;
