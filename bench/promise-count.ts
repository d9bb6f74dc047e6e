// `npm run bench:promises`: how many promises one certificate makes on the main thread, by path (issue #12: the
// async layers of the signing pipeline). In-process (`workers: 1`, as `PKIM_WORKERS=1 npm run bench`), SQLite, ECDSA
// P-256: a root CA, BENCH_WARMUP issuances (default 64), then BENCH_CERTS (default 320) of each path with 16 in
// flight, every promise counted by `v8.promiseHooks.onInit` (V8's own promises: async functions' implicit ones,
// `await`s of non-promises, `.then` chains, node:crypto's callbacks wrapped by the pipeline — not libuv's jobs).
// Paths: a leaf from a CSR (`issuance.issueFromCsr`, the bench's 16-in-flight row), an approval of a submitted
// request (`requests.approve`; its submission is not counted), a leaf with a generated key (`issuance.issueWithKey`).
// BENCH_PROMISE_SITES=<n>: also the n commonest creation sites of the CSR leaf's promises (the first stack frame under
// packages/ or node:internal — slower: a stack per promise; for finding which layer makes them, not for the count).
// A count, not a timing: the same on a loaded machine. Compare it before and after a change of the pipeline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promiseHooks } from 'node:v8';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { hostCsrs } from './host-csrs';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 64);
const CERTS = Number(process.env.BENCH_CERTS ?? 320);
const SITES = Number(process.env.BENCH_PROMISE_SITES ?? 0);
const IN_FLIGHT = 16;

/** runs n calls of fn, `IN_FLIGHT` at a time */
async function inFlight(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
}

let promises = 0;
const sites = new Map<string, number>();
/** the first frame of a stack that is ours or node's (not this file's, not the hook's) */
function siteOf(stack: string | undefined): string {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    if (line.includes('promise-count.ts')) continue;
    const m = /\(?((?:\/[^()]*\/(packages|apps)\/[^()]+)|node:internal[^()]+)\)?$/.exec(line.trim());
    if (m)
      return line
        .trim()
        .replace(/^at /, '')
        .replace(/\/[^()]*\/(packages|apps)\//, '$1/');
  }
  return '(no frame of ours)';
}
const stopHook = promiseHooks.onInit(() => {
  promises++;
  if (SITES > 0) {
    const site = siteOf(new Error().stack);
    sites.set(site, (sites.get(site) ?? 0) + 1);
  }
});

/** promises per call of fn over CERTS calls, 16 in flight (the inFlight loop's own promises taken off) */
async function perCall(fn: (i: number) => Promise<unknown>): Promise<number> {
  promises = 0;
  await inFlight(CERTS, async () => undefined);
  const overhead = promises;
  sites.clear();
  promises = 0;
  await inFlight(CERTS, fn);
  return (promises - overhead) / CERTS;
}

const csrs = (await hostCsrs(64)).map((c) => c.pem);
const dir = mkdtempSync(join(tmpdir(), 'pkim-promises-'));
const authority = await createAuthority({ dataDir: dir, logger: pino({ level: 'silent' }), workers: 1 });
const admin = { id: 'bench-admin', role: 'admin' as const };
const requester = { id: 'bench-requester', role: 'requester' as const };
try {
  const root = await authority.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, admin);
  const caId = root.ca.id;
  const fromCsr = (i: number) =>
    authority.issuance.issueFromCsr({ caId, csrPem: csrs[i % csrs.length]!, profile: 'tls-server' }, admin);
  await inFlight(WARMUP, fromCsr);
  const leaf = await perCall(fromCsr);
  const leafSites = [...sites].sort((a, b) => b[1] - a[1]).slice(0, SITES);
  const ids: string[] = [];
  for (let i = 0; i < CERTS; i++) {
    const r = await authority.requests.submit(
      { caId, csrPem: csrs[i % csrs.length]!, profile: 'tls-server' },
      requester,
    );
    ids.push(r.id);
  }
  const approval = await perCall((i) => authority.requests.approve(ids[i]!, admin));
  const keyLeaf = await perCall((i) =>
    authority.issuance.issueWithKey(
      {
        caId,
        profile: 'tls-server',
        subject: `CN=gen${i}.example.com`,
        sans: { dns: [`gen${i}.example.com`] },
        keyType: 'ec-p256',
      },
      admin,
    ),
  );
  stopHook();
  const verified = await authority.audit.verify();
  if (!verified.ok) throw new Error('audit chain broken');
  console.log(`\nPromises per certificate (v8.promiseHooks, in-process, SQLite, ${CERTS} per path, 16 in flight)\n`);
  console.log('| path | promises/cert |');
  console.log('|---|---:|');
  console.log(`| leaf from a CSR (issuance.issueFromCsr) | ${leaf.toFixed(2)} |`);
  console.log(`| approval of a submitted request (requests.approve) | ${approval.toFixed(2)} |`);
  console.log(`| leaf with a generated key, ECDSA P-256 (issuance.issueWithKey) | ${keyLeaf.toFixed(2)} |`);
  if (SITES > 0) {
    console.log(`\nThe leaf from a CSR: its ${SITES} commonest creation sites (promises/cert)\n`);
    for (const [site, n] of leafSites) console.log(`${(n / CERTS).toFixed(2).padStart(6)}  ${site}`);
  }
} finally {
  await authority.close();
  rmSync(dir, { recursive: true, force: true });
}
