-- 0026: one stored OCSP response per certificate AND CertID hash algorithm (SHA-1, SHA-256); the responses already
-- stored answer SHA-1 CertIDs. No foreign key: `certificate_id` is also a subordinate CA's id (docs/ocsp.md).
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_ocsp_responses` (
	`certificate_id` text NOT NULL,
	`hash_alg` text NOT NULL,
	`status_key` text NOT NULL,
	`cert_id` text NOT NULL,
	`der` text NOT NULL,
	`this_update` integer NOT NULL,
	`next_update` integer NOT NULL,
	`refresh_at` integer NOT NULL,
	PRIMARY KEY(`certificate_id`, `hash_alg`)
);
--> statement-breakpoint
INSERT INTO `__new_ocsp_responses`("certificate_id", "hash_alg", "status_key", "cert_id", "der", "this_update", "next_update", "refresh_at") SELECT "certificate_id", 'sha1', "status_key", "cert_id", "der", "this_update", "next_update", "refresh_at" FROM `ocsp_responses`;--> statement-breakpoint
DROP TABLE `ocsp_responses`;--> statement-breakpoint
ALTER TABLE `__new_ocsp_responses` RENAME TO `ocsp_responses`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `ocsp_responses_refresh_idx` ON `ocsp_responses` (`refresh_at`);