import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * table → SHA-256 of its rows in an SQLite database, leaving out audit events with outcome `failure` (a refusal is
 * audited on purpose) and token use times (`api_tokens.last_used_at`, a usage timestamp, not a state change):
 * equal digests before and after a refused call = the refusal changed nothing (docs/security.md).
 */
export function sqliteDigest(db: Database.Database): Record<string, string> {
  const out: Record<string, string> = {};
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  for (const { name } of tables) {
    // pre-signed OCSP responses are a cache the responder writes in the background (refresh ahead of expiry, first
    // answer stored), not state a request changes: a refresh landing between two digests is not a change
    if (name === 'ocsp_responses') continue;
    let sql = `SELECT * FROM "${name}"`;
    if (name === 'audit_events') sql += " WHERE outcome <> 'failure'";
    const rows = (db.prepare(sql).all() as Record<string, unknown>[]).map((r) => {
      if (name === 'api_tokens') r.last_used_at = null;
      return JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
    });
    out[name] = createHash('sha256').update(rows.sort().join('\n')).digest('hex').slice(0, 16);
  }
  return out;
}
