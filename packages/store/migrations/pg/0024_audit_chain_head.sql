-- The audit chain head, read AFTER taking the audit-chain advisory lock ('pkim', 1) and with a snapshot of its own:
-- a VOLATILE function's query sees what committed before it ran, not only what its calling statement's snapshot
-- saw. The PostgreSQL batch statement (packages/store/src/pg-batch-commit.ts) calls it first and chains the
-- batch's audit events from it, so a whole batch is one statement under the lock, whatever other instances append.
CREATE FUNCTION "pkim_audit_chain_head"() RETURNS TABLE ("head_seq" bigint, "head_hash" text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1886087533, 1);
  RETURN QUERY SELECT a."seq", a."hash" FROM "audit_events" a ORDER BY a."seq" DESC LIMIT 1;
END
$$;
