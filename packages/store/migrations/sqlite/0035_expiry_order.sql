-- Issue #12 item 7: the listing's expiry sort ("Expires soonest" / "Expires latest") with no filter had no index: a
-- full read and sort of certificates per page. (status, not_after) gains id, the sort's tie-break: a status's rows in
-- the listing's expiry order from the index alone, so a page without a filter is one index range per status, merged
-- (certificates.list, expiryMergedPage) — and a status filter's page needs no sort of a not_after's ties either.
-- Still one B-tree per certificate (an index entry with the id in it, no new index): docs/benchmarks.md
-- "Session 28: inventory". Rebuilt once on upgrade (seconds per 1,000,000 certificates).
DROP INDEX `certificates_status_not_after_idx`;--> statement-breakpoint
CREATE INDEX `certificates_status_not_after_idx` ON `certificates` (`status`,`not_after`,`id`);
