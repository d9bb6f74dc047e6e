/**
 * `copyStore({ from, to })`: moves every row from one store to another (e.g. SQLite → PostgreSQL)
 * in pages by primary key, preserving ids, audit seq and hashes, then verifies the target.
 * The derived `certificate_counts` table is not copied: the target maintains its own while
 * importing, and it is checked against the copied certificates at the end.
 */
import { createHash } from 'node:crypto';
import { PkiError } from '@pkim/shared';
import type { CertificateRow, Store, StoreTableName } from './types';
import { STORE_TABLES } from './query-db';

export const COPY_PAGE_SIZE = 1000;

export interface CopyStoreResult {
  /** rows copied per table */
  counts: Record<string, number>;
  verified: boolean;
  problems: string[];
}

/** SHA-256 (lowercase hex) of the DER inside a PEM certificate. */
export function pemFingerprintSha256(pem: string): string {
  const b64 = pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
}

async function countRows(store: Store, table: StoreTableName): Promise<number> {
  let n = 0;
  let after: string | number | null = null;
  for (;;) {
    const page = await store.exportRows(table, after, COPY_PAGE_SIZE);
    n += page.rows.length;
    if (page.nextKey === null) return n;
    after = page.nextKey;
  }
}

export async function copyStore({ from, to }: { from: Store; to: Store }): Promise<CopyStoreResult> {
  for (const table of STORE_TABLES) {
    const probe = await to.exportRows(table, null, 1);
    if (probe.rows.length > 0) {
      throw new PkiError(
        'store.target_not_empty',
        `The target ${to.dialect} database is not empty (table ${table} has rows); copy only into a freshly ` +
          `migrated, empty database`,
        { details: { table } },
      );
    }
  }

  const counts: Record<string, number> = {};
  for (const table of STORE_TABLES) {
    let after: string | number | null = null;
    counts[table] = 0;
    for (;;) {
      const page = await from.exportRows(table, after, COPY_PAGE_SIZE);
      if (page.rows.length) counts[table] += await to.importRows(table, page.rows);
      if (page.nextKey === null) break;
      after = page.nextKey;
    }
  }

  const problems: string[] = [];
  for (const table of STORE_TABLES) {
    const n = await countRows(to, table);
    if (n !== counts[table]) problems.push(`${table}: copied ${counts[table]} row(s) but the target has ${n}`);
  }

  // importRows maintains the target's certificate counters; one grouped pass checks (and repairs) them.
  const counters = await to.rebuildCertificateCounts();
  if (counters.corrected > 0)
    problems.push(
      `certificate counters: ${counters.corrected} counter row(s) on the target did not match its ` +
        `certificates (rebuilt)`,
    );

  let after: string | number | null = null;
  for (;;) {
    const page = await to.exportRows('certificates', after, COPY_PAGE_SIZE);
    for (const raw of page.rows) {
      const row = raw as unknown as CertificateRow;
      const fp = pemFingerprintSha256(row.certificatePem);
      if (fp !== row.fingerprintSha256)
        problems.push(`certificate ${row.id}: fingerprint of its PEM is ${fp}, stored ${row.fingerprintSha256}`);
    }
    if (page.nextKey === null) break;
    after = page.nextKey;
  }

  const [source, target] = await Promise.all([from.audit.verify(), to.audit.verify()]);
  if (!target.ok) {
    problems.push(
      `audit chain on the target is broken at seq ${target.brokenAtSeq} (${target.brokenEventId}): ${target.reason}`,
    );
  } else if (source.ok && source.lastHash !== target.lastHash) {
    problems.push(`audit chain head differs: source ${source.lastHash}, target ${target.lastHash}`);
  }
  return { counts, verified: problems.length === 0, problems };
}
