/**
 * Inventory reports (issue #16 item 4): any filtered certificate list as CSV or JSON, every column, streamed.
 *
 * The rows are read by keyset pages of PAGE rows (the listing's own index order), each page turned into text
 * only when the consumer asks for more: a `Readable.from(report.body)` piped to a file, stdout or an HTTP response
 * keeps at most a page or two in memory whatever the size of the inventory (1,000,000 rows: `npm run
 * bench:inventory`). CSV escaping is csv-stringify's (RFC 4180: quotes doubled, fields with commas, quotes or line
 * breaks quoted).
 *
 * Who sees what: an actor with `certificate:read` every certificate of the CAs it may see (CA-limited tokens: only
 * theirs); a requester (`request:read` without `certificate:read`) only certificates issued from requests it
 * submitted; anyone else is refused. Every report is audited (`certificate.inventory_exported`, with the actor,
 * the format and the filter) before its first byte.
 */
import type { stringify as Stringify } from 'csv-stringify/sync';
import { PkiError, type Clock } from '@pkim/shared';
import type { CaRow, CertificateQuery, CertificateRow, SanJson, Store } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { statusAt } from '../certificate-view';
import { resolveCaRef } from '../ca-context';
import { authorize, hasPermission } from '../permissions';
import { visibleCaIds } from '../signing/provisioner-policy';
import type { Actor } from '../types';
import { checkProfileFilter, type ProfileExists } from '../profile-filter';

export const INVENTORY_FORMATS = ['csv', 'json'] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];

/** the filters of a report: those of the certificate list, without paging */
export type InventoryFilter = Pick<
  CertificateQuery,
  'caId' | 'status' | 'profile' | 'expiringBefore' | 'search' | 'sort'
>;

/** rows read per keyset page */
const PAGE = 1000;
const DAY_MS = 86_400_000;

/** The columns of a report, in order (CSV header = these names; JSON objects have these keys). */
export const INVENTORY_COLUMNS = [
  'id',
  'serial',
  'subject',
  'common_name',
  'sans',
  'fingerprint_sha256',
  'status',
  'not_before',
  'not_after',
  'days_left',
  'ca_id',
  'ca_name',
  'issuer',
  'profile',
  'key_type',
  'requester',
  'issued_by',
  'request_id',
  'revoked_at',
  'revocation_reason',
  'renewed_from',
] as const;

export type InventoryColumn = (typeof INVENTORY_COLUMNS)[number];

/** One row of a report. In CSV, `sans` is `DNS:a;IP:b;email:c;URI:d` and empty values are empty fields. */
export type InventoryRecord = Record<Exclude<InventoryColumn, 'sans' | 'days_left'>, string | null> & {
  sans: SanJson;
  /** whole days from now to notAfter, rounded down (negative once expired) */
  days_left: number;
};

export interface InventoryReport {
  fileName: string;
  /** `text/csv; charset=utf-8` or `application/json; charset=utf-8` */
  mediaType: string;
  /** the file, chunk by chunk (a page of rows per chunk), produced as it is read */
  body: AsyncIterable<string>;
}

export interface InventoryService {
  /** a certificate inventory as CSV or JSON, streamed (see the module comment for who sees what) */
  report(filter: InventoryFilter, format: InventoryFormat, actor: Actor): Promise<InventoryReport>;
}

export interface InventoryServiceDeps {
  store: Store;
  clock: Clock;
  /** rows per keyset page (default PAGE; tests use a few to cross page boundaries) */
  pageSize?: number;
  /** a profile filter naming no profile and no certificate is refused before the report starts (profile-filter.ts) */
  profileExists?: ProfileExists;
}

/** the SANs of a certificate as one CSV field: `DNS:a;IP:b;email:c;URI:d` */
export function sansField(s: SanJson): string {
  return [
    ...(s.dns ?? []).map((v) => `DNS:${v}`),
    ...(s.ip ?? []).map((v) => `IP:${v}`),
    ...(s.email ?? []).map((v) => `email:${v}`),
    ...(s.uri ?? []).map((v) => `URI:${v}`),
  ].join(';');
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function inventoryRecord(
  c: CertificateRow,
  now: number,
  ca: Pick<CaRow, 'name' | 'subjectDn'> | undefined,
  requester: string | undefined,
): InventoryRecord {
  return {
    id: c.id,
    serial: c.serialHex,
    subject: c.subjectDn,
    common_name: c.commonName,
    sans: c.sans,
    fingerprint_sha256: c.fingerprintSha256,
    status: statusAt(c, now),
    not_before: iso(c.notBefore),
    not_after: iso(c.notAfter),
    days_left: Math.floor((c.notAfter - now) / DAY_MS),
    ca_id: c.caId,
    ca_name: ca?.name ?? null,
    issuer: ca?.subjectDn ?? null,
    profile: c.profile,
    key_type: c.keyType,
    requester: requester ?? null,
    issued_by: c.issuedBy,
    request_id: c.requestId,
    revoked_at: iso(c.revokedAt),
    revocation_reason: c.revocationReason,
    renewed_from: c.renewedFrom ?? null,
  };
}

function csvChunk(stringify: typeof Stringify, records: InventoryRecord[], header: boolean): string {
  return stringify(
    records.map((r) => ({ ...r, sans: sansField(r.sans) })),
    { header, columns: [...INVENTORY_COLUMNS], eof: true, record_delimiter: 'windows' },
  );
}

export function createInventoryService(deps: InventoryServiceDeps): InventoryService {
  const { store, clock } = deps;

  /** the query the actor may run: its CA limits, and a requester's own certificates only */
  async function scopedQuery(filter: InventoryFilter, actor: Actor): Promise<CertificateQuery> {
    const caId = filter.caId ? await resolveCaRef(store, filter.caId) : undefined;
    const cas = await store.cas.list();
    const query: CertificateQuery = { ...filter, caId, caIds: visibleCaIds(actor, cas) };
    // a requester: only what its own requests produced
    if (!hasPermission(actor, 'certificate:read')) authorize(actor, 'request:read');
    await checkProfileFilter(store, deps.profileExists, filter.profile, query.caIds);
    return hasPermission(actor, 'certificate:read') ? query : { ...query, requester: actor.id };
  }

  /** every row of the query, page by page along the listing's keyset cursor */
  async function* pages(query: CertificateQuery): AsyncGenerator<CertificateRow[]> {
    let cursor: string | null | undefined;
    do {
      const page = await store.certificates.list({ ...query, limit: deps.pageSize ?? PAGE, cursor });
      if (page.items.length) yield page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  async function* records(query: CertificateQuery, now: number): AsyncGenerator<InventoryRecord[]> {
    const cas = new Map((await store.cas.list()).map((c) => [c.id, c]));
    for await (const rows of pages({ ...query, now })) {
      const requestIds = [...new Set(rows.flatMap((r) => (r.requestId ? [r.requestId] : [])))];
      const requesters = requestIds.length ? await store.requests.requestersOf(requestIds) : new Map<string, string>();
      yield rows.map((r) =>
        inventoryRecord(r, now, cas.get(r.caId), r.requestId ? requesters.get(r.requestId) : undefined),
      );
    }
  }

  async function* csv(query: CertificateQuery, now: number): AsyncGenerator<string> {
    // csv-stringify loads with the first CSV report, not with every command
    const { stringify } = await import('csv-stringify/sync');
    let header = true;
    for await (const page of records(query, now)) {
      yield csvChunk(stringify, page, header);
      header = false;
    }
    if (header) yield csvChunk(stringify, [], true); // an empty report still has its header row
  }

  async function* json(query: CertificateQuery, now: number): AsyncGenerator<string> {
    let first = true;
    yield '[';
    for await (const page of records(query, now)) {
      const text = page.map((r) => JSON.stringify(r)).join(',\n');
      yield (first ? '\n' : ',\n') + text;
      first = false;
    }
    yield first ? ']\n' : '\n]\n';
  }

  return {
    async report(filter, format, actor) {
      if (!(INVENTORY_FORMATS as readonly string[]).includes(format)) {
        throw new PkiError(
          'input.invalid',
          `unknown inventory format '${format}' (use ${INVENTORY_FORMATS.join(', ')})`,
        );
      }
      const query = await scopedQuery(filter, actor);
      const now = clock.now();
      await store.audit.append(
        auditEvent(clock, actor, 'certificate.inventory_exported', null, {
          format,
          filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)),
          ...(query.requester ? { ownRequestsOnly: true } : {}),
          ...(query.caIds ? { caIds: query.caIds } : {}),
        }),
      );
      const stamp = new Date(now).toISOString().slice(0, 10);
      return format === 'csv'
        ? { fileName: `certificates-${stamp}.csv`, mediaType: 'text/csv; charset=utf-8', body: csv(query, now) }
        : {
            fileName: `certificates-${stamp}.json`,
            mediaType: 'application/json; charset=utf-8',
            body: json(query, now),
          };
    },
  };
}
