-- Issue #12: the current SVID of a SPIFFE ID (superseded_by null, at most one per ID) indexed apart, so the
-- supersede UPDATE run with every new SVID finds it without walking all earlier SVIDs of the ID.
CREATE INDEX `spiffe_svids_current_idx` ON `spiffe_svids` (`spiffe_id`) WHERE "spiffe_svids"."superseded_by" is null;
