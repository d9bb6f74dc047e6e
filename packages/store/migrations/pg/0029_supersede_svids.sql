-- SVIDs in the PostgreSQL batch statement (packages/store/src/pg-batch-commit.ts): a new SVID supersedes its SPIFFE
-- ID's current one, which another instance may have inserted after the statement's snapshot was taken. Like
-- pkim_audit_chain_head() (0024), this VOLATILE function takes the audit-chain advisory lock ('pkim', 1; re-entrant,
-- the statement holds it already) and then updates with a snapshot of its own, so it sees every SVID committed before
-- the lock (every SVID is written under it). Each ID's current SVIDs, other than the rows the batch inserts
-- (`inserted`), are superseded by the first entry of that ID (the batch holds one per ID). Answers the rows updated.
CREATE FUNCTION "pkim_supersede_svids"("spiffe_ids" text[], "bys" text[], "ats" bigint[], "inserted" text[])
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(1886087533, 1);
  UPDATE "spiffe_svids" s SET "superseded_by" = x."by", "superseded_at" = x."at"
  FROM (SELECT DISTINCT ON (u."sid") u."sid", u."by", u."at"
        FROM unnest("spiffe_ids", "bys", "ats") WITH ORDINALITY AS u("sid", "by", "at", "k")
        ORDER BY u."sid", u."k") x
  WHERE s."spiffe_id" = x."sid" AND s."superseded_by" IS NULL AND s."id" <> ALL ("inserted");
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
