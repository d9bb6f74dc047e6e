CREATE TABLE `certificate_names` (
	`name` text NOT NULL,
	`certificate_id` text NOT NULL,
	FOREIGN KEY (`certificate_id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `certificate_names_name_idx` ON `certificate_names` (`name`,`certificate_id`);--> statement-breakpoint
CREATE INDEX `certificate_names_certificate_idx` ON `certificate_names` (`certificate_id`);--> statement-breakpoint
-- search terms of the certificates issued before this migration (certificate-search-terms.ts, the same rule):
-- common name, SANs and serial, lowercased, each from the start and after every separator . - _ @ / :
INSERT INTO `certificate_names` (`name`, `certificate_id`)
WITH RECURSIVE
  v(id, value) AS (
    SELECT id, lower(trim(common_name)) FROM certificates WHERE common_name IS NOT NULL
    UNION
    SELECT c.id, lower(trim(j.value))
    FROM certificates c, json_each(c.sans) k, json_each(k.value) j
    WHERE k.key IN ('dns', 'ip', 'email', 'uri')
  ),
  t(id, value, pos) AS (
    SELECT id, value, 1 FROM v WHERE value <> ''
    UNION ALL
    SELECT id, value, pos + 1 FROM t WHERE pos < length(value)
  )
SELECT substr(value, pos, 200), id FROM t
WHERE pos = 1 OR substr(value, pos - 1, 1) IN ('.', '-', '_', '@', '/', ':')
UNION
SELECT lower(serial_hex), id FROM certificates;
