ALTER TABLE `certificates` ADD `provisioner` text;--> statement-breakpoint
CREATE INDEX `certificates_provisioner_created_idx` ON `certificates` (`provisioner`,`created_at`,`id`);--> statement-breakpoint
-- the provisioner of the certificates issued before this migration, from their certificate.issued audit event
UPDATE `certificates` SET `provisioner` = (
  SELECT json_extract(a.`details`, '$.provisioner.id') FROM `audit_events` a
  WHERE a.`target` = `certificates`.`id` AND a.`action` = 'certificate.issued'
  ORDER BY a.`seq` LIMIT 1
);
