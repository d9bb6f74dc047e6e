-- Issue #12: two indexes an issuance writes that no read uses (EXPLAIN QUERY PLAN of every list, search, lookup, CRL,
-- OCSP and audit query the store issues: docs/benchmarks.md "Session 27: store indexes"). Each was one B-tree insert
-- and, at one certificate per transaction, one WAL page more per certificate.
-- certificates_ca_status_idx (ca_id, status): a CA's listing with a status reads (status, created_at, id) or
-- (ca_id, created_at, id), the CRL (status, not_after) or (ca_id, serial_hex); only a CA's revocation (every active
-- certificate of the CA) planned on it, and reads the CA's rows by (ca_id, created_at, id) instead.
-- audit_events_id_uq (id): no query reads an event by id (seq is the key; ids are time-first with 80 random bits).
DROP INDEX `certificates_ca_status_idx`;--> statement-breakpoint
DROP INDEX `audit_events_id_uq`;
