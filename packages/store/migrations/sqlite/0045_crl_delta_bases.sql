CREATE TABLE `crl_delta_bases` (
	`ca_id` text PRIMARY KEY NOT NULL,
	`crl_number` integer NOT NULL,
	`this_update` integer NOT NULL,
	`next_update` integer NOT NULL,
	`der` text NOT NULL,
	`serials` text NOT NULL,
	FOREIGN KEY (`ca_id`) REFERENCES `certificate_authorities`(`id`) ON UPDATE no action ON DELETE cascade
);
