import {
  PkiError,
  classifySans,
  normalizeKeyType,
  parseDuration,
  toPkiError,
  type KeyType,
  type SanLists,
} from '@pkim/shared';
import type { SubjectInput } from '../types';
import { DEFAULT_BULK_SETTINGS } from '../bulk-settings';

/**
 * The bulk CSV (RFC 4180, read by `csv-parse`): a header row, then one certificate per row. Header names are
 * matched case-insensitively, ignoring spaces, `_` and `-`; an unknown column refuses the whole file (a typo
 * must not silently drop a field). Empty cells are absent values.
 */
export const BULK_CSV_COLUMNS = {
  profile: ['profile'],
  commonName: ['cn', 'commonname'],
  organization: ['o', 'organization', 'organisation'],
  organizationalUnit: ['ou', 'organizationalunit', 'organisationalunit'],
  country: ['c', 'country'],
  state: ['st', 'state', 'province'],
  locality: ['l', 'locality', 'city'],
  dn: ['dn', 'subject'],
  sans: ['sans', 'san', 'subjectaltnames', 'subjectaltname'],
  keyType: ['keytype', 'key'],
  validity: ['validity', 'ttl', 'lifetime'],
  csr: ['csr', 'csrpem'],
} as const;

export type BulkColumn = keyof typeof BULK_CSV_COLUMNS;

/** Most rows one batch may have by default (`PKIM_BULK_MAX_ROWS`, bulk-settings.ts). */
export const MAX_BULK_ROWS = DEFAULT_BULK_SETTINGS.maxRows;

/** One data row, mapped (or the reason it cannot be). */
export interface BulkCsvRow {
  /** 1 = the first row after the header */
  row: number;
  /** line of the file where the row starts */
  line: number;
  profile?: string;
  subject: SubjectInput;
  sans?: SanLists;
  keyType?: KeyType;
  validityMs?: number;
  csrPem?: string;
  /** the row cannot be mapped (bad key type, duration, field count): it fails with this error */
  error?: PkiError;
}

const byHeader = new Map<string, BulkColumn>(
  Object.entries(BULK_CSV_COLUMNS).flatMap(([col, names]) => names.map((n) => [n, col as BulkColumn])),
);

function normalizeHeader(h: string): string {
  return h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
}

/**
 * Reads the CSV text into rows; `bulk.invalid_csv` for a file that is not CSV or has no usable header. csv-parse
 * loads here, on first use: every other command starts without it (docs/benchmarks.md, start-up time).
 */
export async function parseBulkCsv(text: string, maxRows = MAX_BULK_ROWS): Promise<BulkCsvRow[]> {
  const { parse } = await import('csv-parse/sync');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new PkiError('bulk.invalid_csv', `the CSV cannot be read: ${(e as Error).message}`);
  }
  const [head, ...data] = records;
  if (!head) throw new PkiError('bulk.invalid_csv', 'the CSV is empty: a header row and one row per certificate');
  const columns = head.record.map((h, i) => {
    const col = byHeader.get(normalizeHeader(h));
    if (!col) {
      throw new PkiError(
        'bulk.invalid_csv',
        `unknown column '${h}' (column ${i + 1} of the header); known columns: ` +
          Object.values(BULK_CSV_COLUMNS)
            .map((n) => n[0])
            .join(', '),
      );
    }
    return col;
  });
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice) throw new PkiError('bulk.invalid_csv', `the header names the column '${twice}' twice`);
  if (!columns.includes('commonName') && !columns.includes('dn') && !columns.includes('csr')) {
    throw new PkiError('bulk.invalid_csv', 'the header needs a subject: a cn or dn column (or csr)');
  }
  if (data.length === 0) throw new PkiError('bulk.invalid_csv', 'the CSV has a header but no rows');
  if (data.length > maxRows) {
    throw new PkiError(
      'bulk.too_many_rows',
      `the CSV has ${data.length} rows; a batch takes at most ${maxRows} (PKIM_BULK_MAX_ROWS): split the file`,
      { details: { rows: data.length, maxRows } },
    );
  }
  return data.map(({ record, info }, i) => {
    const newlines = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    return mapRow(columns, record, i + 1, info.lines - newlines);
  });
}

function mapRow(columns: BulkColumn[], record: string[], row: number, line: number): BulkCsvRow {
  const out: BulkCsvRow = { row, line, subject: {} };
  try {
    if (record.length !== columns.length) {
      throw new PkiError('input.invalid', `the row has ${record.length} fields, the header ${columns.length}`);
    }
    const v: Partial<Record<BulkColumn, string>> = {};
    columns.forEach((c, i) => {
      const cell = record[i]?.trim();
      if (cell) v[c] = cell;
    });
    out.profile = v.profile;
    out.subject = {
      ...(v.dn !== undefined ? { dn: v.dn } : {}),
      commonName: v.commonName,
      organization: v.organization,
      organizationalUnit: v.organizationalUnit,
      country: v.country,
      state: v.state,
      locality: v.locality,
    };
    if (v.sans !== undefined) out.sans = classifySans(v.sans.split(';'));
    if (v.keyType !== undefined) {
      const kt = normalizeKeyType(v.keyType);
      if (!kt) throw new PkiError('input.invalid', `unknown key type '${v.keyType}'`);
      out.keyType = kt;
    }
    if (v.validity !== undefined) out.validityMs = parseDuration(v.validity);
    out.csrPem = v.csr;
  } catch (e) {
    out.error = toPkiError(e);
  }
  return out;
}

/** The columns of the results CSV, in order. */
export const BULK_RESULT_COLUMNS = [
  'row',
  'line',
  'status',
  'commonName',
  'serial',
  'certificateId',
  'notAfter',
  'keyFile',
  'errorCode',
  'errorMessage',
] as const;

/** One result row per CSV row (RFC 4180, written by `csv-stringify`, loaded here); `notAfter` as ISO 8601. */
export async function bulkResultsCsv(
  rows: {
    row: number;
    line: number;
    status: string;
    commonName: string | null;
    serial?: string;
    certificateId?: string;
    notAfter?: number;
    keyFile?: string;
    error?: { code: string; message: string };
  }[],
): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  return stringify(
    rows.map((r) => [
      r.row,
      r.line,
      r.status,
      r.commonName ?? '',
      r.serial ?? '',
      r.certificateId ?? '',
      r.notAfter !== undefined ? new Date(r.notAfter).toISOString() : '',
      r.keyFile ?? '',
      r.error?.code ?? '',
      r.error?.message ?? '',
    ]),
    { header: true, columns: [...BULK_RESULT_COLUMNS], record_delimiter: 'windows' },
  );
}

export const BATCH_RESULT_COLUMNS = [
  'ref',
  'status',
  'certificateId',
  'serial',
  'newCertificateId',
  'newSerial',
  'errorCode',
  'errorMessage',
] as const;

/** One result row per certificate of a batch revoke, renew or download (RFC 4180, `csv-stringify` loaded here). */
export async function batchResultsCsv(
  items: {
    ref: string;
    status: string;
    certificateId?: string;
    serial?: string;
    newCertificateId?: string;
    newSerial?: string;
    error?: { code: string; message: string };
  }[],
): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  return stringify(
    items.map((i) => [
      i.ref,
      i.status,
      i.certificateId ?? '',
      i.serial ?? '',
      i.newCertificateId ?? '',
      i.newSerial ?? '',
      i.error?.code ?? '',
      i.error?.message ?? '',
    ]),
    { header: true, columns: [...BATCH_RESULT_COLUMNS], record_delimiter: 'windows' },
  );
}
