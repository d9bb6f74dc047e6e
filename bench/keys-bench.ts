/**
 * Key backend signing throughput: signatures per second per backend and key type.
 * Run: npx tsx bench/keys-bench.ts
 *
 * Each row signs sequentially (one request in flight, like one issuance after another) for about
 * `durationMs`, after one warm-up signature that is verified with node:crypto, so a broken backend
 * cannot post a number. PKCS#11 / KMIP rows: pass more factories to runKeysBench().
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { KEY_TYPES, KEY_TYPE_INFO, type KeyType } from '@pkim/shared';
import { createMemoryKeyBlobStorage, createSoftwareBackend, type KeyBackend } from '@pkim/keys';

export interface BenchRow {
  backend: string;
  keyType: KeyType;
  signatures: number;
  seconds: number;
  perSecond: number;
  /** median latency of one sign call, ms */
  p50Ms: number;
  error?: string;
}

export interface BenchOptions {
  /** Time budget per row (default 1000 ms). */
  durationMs?: number;
  /** Bytes signed per call (default 1000, about a TBSCertificate). */
  dataBytes?: number;
}

export interface BackendFactory {
  name: string;
  create: () => Promise<KeyBackend>;
  keyTypes: KeyType[];
}

function verifies(keyType: KeyType, spki: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const info = KEY_TYPE_INFO[keyType];
  const k = info.algorithm === 'ec' ? { key, dsaEncoding: 'der' as const } : key;
  return verify(info.hash, data, k, sig);
}

/** Generates one key per type on `backend` and measures sequential signing, ~durationMs per row. */
export async function benchBackend(
  name: string,
  backend: KeyBackend,
  keyTypes: KeyType[],
  opts: BenchOptions = {},
): Promise<BenchRow[]> {
  const durationMs = opts.durationMs ?? 1000;
  const data = randomBytes(opts.dataBytes ?? 1000);
  const rows: BenchRow[] = [];
  for (const keyType of keyTypes) {
    let uri: string | undefined;
    try {
      const ref = await backend.generateKey({ keyType, label: `bench ${keyType}` });
      uri = ref.uri;
      const first = await backend.sign(ref.uri, keyType, data);
      if (!verifies(keyType, ref.publicKey, data, first)) throw new Error('warm-up signature does not verify');
      const lat: number[] = [];
      const t0 = performance.now();
      const deadline = t0 + durationMs;
      let now = t0;
      while (now < deadline) {
        const s = performance.now();
        await backend.sign(ref.uri, keyType, data);
        now = performance.now();
        lat.push(now - s);
      }
      const seconds = (now - t0) / 1000;
      lat.sort((a, b) => a - b);
      rows.push({
        backend: name,
        keyType,
        signatures: lat.length,
        seconds,
        perSecond: lat.length / seconds,
        p50Ms: lat[Math.floor(lat.length / 2)] ?? 0,
      });
    } catch (e) {
      rows.push({
        backend: name,
        keyType,
        signatures: 0,
        seconds: 0,
        perSecond: 0,
        p50Ms: 0,
        error: (e as Error).message,
      });
    } finally {
      if (uri) await backend.destroy?.(uri).catch(() => undefined);
    }
  }
  return rows;
}

export function formatBenchTable(rows: BenchRow[]): string {
  const header = ['backend', 'key type', 'signatures', 'seconds', 'sig/s', 'p50 ms'];
  const body = rows.map((r) =>
    r.error
      ? [r.backend, r.keyType, '-', '-', '-', `error: ${r.error}`]
      : [r.backend, r.keyType, String(r.signatures), r.seconds.toFixed(2), r.perSecond.toFixed(0), r.p50Ms.toFixed(3)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export async function runKeysBench(factories: BackendFactory[], opts: BenchOptions = {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const f of factories) {
    const backend = await f.create();
    try {
      rows.push(...(await benchBackend(f.name, backend, f.keyTypes, opts)));
    } finally {
      await backend.close();
    }
  }
  return rows;
}

export const softwareBenchFactory: BackendFactory = {
  name: 'software',
  keyTypes: [...KEY_TYPES],
  create: async () => createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() }),
};

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const rows = await runKeysBench([softwareBenchFactory]);
  console.log(`node ${process.version}, ${rows.length} rows, ~1 s each, sequential sign of 1000 bytes\n`);
  console.log(formatBenchTable(rows));
  if (rows.some((r) => r.error)) process.exitCode = 1;
}
