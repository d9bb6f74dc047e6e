/**
 * The in-process twin of bench/heap-long-run.ts (`npm run bench`'s path: the authority's services, no HTTP): issues
 * certificates 16 in flight on SQLite (PKIM_WORKERS=2 unless set) — CSR signs, one in 8 a generated-key leaf, one in
 * 8 a submitted request approved —, revokes one in REVOKE_EVERY, and at each checkpoint (HEAP_AT) runs a full GC and
 * writes a heap snapshot (v8.writeHeapSnapshot) with the heap figures beside it. Compare two with
 * bench/heapsnapshot-diff.mjs.
 *
 *   node --expose-gc --import tsx bench/heap-in-process.ts   (env: HEAP_AT=10000,60000 REVOKE_EVERY=30 HEAP_DIR=<dir>)
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { hostCsrs } from './host-csrs';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const checkpoints = (process.env.HEAP_AT ?? '10000,60000').split(',').map(Number);
const revokeEvery = Number(process.env.REVOKE_EVERY ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'pkim-heap-in-process-'));
const heapDir = process.env.HEAP_DIR ?? join(dir, 'snapshots');
mkdirSync(heapDir, { recursive: true });
const admin = { id: 'heap', role: 'admin' as const };
const requester = { id: 'heap-requester', role: 'requester' as const };
const authority = await createAuthority({
  dataDir: join(dir, 'data'),
  logger: pino({ level: 'silent' }),
  workers: Number(process.env.PKIM_WORKERS ?? 2),
});
const root = await authority.cas.create({ name: 'heap-root', subject: 'CN=Heap Root', keyType: 'ec-p256' }, admin);
const csrs = await hostCsrs(256);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function one(i: number): Promise<void> {
  const csrPem = csrs[i % csrs.length]!.pem;
  let id: string;
  if (i % 8 === 3) {
    const r = await authority.issuance.issueWithKey(
      {
        caId: root.ca.id,
        profile: 'tls-server',
        subject: `CN=gen${i}.example.com`,
        sans: { dns: [`gen${i}.example.com`] },
        keyType: 'ec-p256',
      },
      admin,
    );
    id = r.certificate.id;
  } else if (i % 8 === 5) {
    const r = await authority.requests.submit({ caId: root.ca.id, csrPem, profile: 'tls-server' }, requester);
    const a = await authority.requests.approve(r.id, admin);
    id = (a as { certificate?: { id: string } }).certificate?.id ?? '';
  } else {
    id = (await authority.issuance.issueFromCsr({ caId: root.ca.id, csrPem, profile: 'tls-server' }, admin)).certificate
      .id;
  }
  if (id && i % revokeEvery === 0) await authority.certificates.revoke(id, 'superseded', admin);
}

let gcNs = 0;
const { PerformanceObserver } = await import('node:perf_hooks');
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcNs += e.duration * 1e6;
});
obs.observe({ entryTypes: ['gc'] });

function heapLine(label: string, n: number): string {
  const m = process.memoryUsage();
  return (
    `${label}: certs ${n} | heap used ${(m.heapUsed / 1e6).toFixed(1)} MB total ${(m.heapTotal / 1e6).toFixed(1)} MB ` +
    `external ${(m.external / 1e6).toFixed(1)} MB arrayBuffers ${(m.arrayBuffers / 1e6).toFixed(1)} MB | RSS ` +
    `${(m.rss / 1e6).toFixed(0)} MB | load ${load()}`
  );
}

let next = 0;
let prevGcNs = 0;
let prevN = 0;
let t0 = Date.now();
for (const at of checkpoints) {
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < at) await one(next++);
    }),
  );
  await new Promise((r) => setTimeout(r, 200)); // the GC observer's entries arrive asynchronously
  const stretchGc = gcNs - prevGcNs;
  console.log(
    `to ${at}: ${(((at - prevN) * 1000) / (Date.now() - t0)).toFixed(0)} certs/s, GC ` +
      `${(stretchGc / 1e3 / (at - prevN)).toFixed(1)} µs/cert over the stretch`,
  );
  gc();
  gc();
  console.log(heapLine(`at ${at} after gc()`, at));
  console.log(`  snapshot ${writeHeapSnapshot(join(heapDir, `in-process-${at}.heapsnapshot`))}`);
  await new Promise((r) => setTimeout(r, 200));
  prevGcNs = gcNs;
  prevN = at;
  t0 = Date.now();
}
obs.disconnect();
await authority.close();
