-- A CA's leaf_not_after_behavior (OpenBao's, set by the Vault API's issuer/:ref write): what the signing pipeline
-- does with a leaf asked past the CA's notAfter — 'err' refuses it (every CA until now), 'truncate' ends it there,
-- 'permit' signs it. Existing CAs keep 'err'.
ALTER TABLE `certificate_authorities` ADD `leaf_not_after_behavior` text DEFAULT 'err' NOT NULL;
