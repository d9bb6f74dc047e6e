// `npm run bench:svid-commit`: the SQLite store's CPU per SVID commit as one SPIFFE ID is renewed again and again —
// each unit the certificate row, its SVID row and the supersede of the ID's previous SVID, as the SVID route commits
// it. Printed per 1,000 commits, so a commit that grows with the ID's history shows (before migration 0028 the
// supersede walked every earlier SVID of the ID). No signing, no HTTP, main thread only.
//  env: BENCH_SVIDS (default 8000), BENCH_TREE=<worktree> (load the store of another checkout, for an A/B against a
//  base worktree that lacks this file: `BENCH_TREE=/path/to/base npm run bench:svid-commit`)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '@pkim/shared';
import type { CertificateRow, Store } from '@pkim/store';
import { activeRootCaRow, randomCertificatePem } from '../packages/store/src/example-rows';

const SVIDS = Number(process.env.BENCH_SVIDS ?? 8000);
const TREE = process.env.BENCH_TREE ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const T0 = Date.UTC(2030, 0, 1);

const { openStore } = (await import(join(TREE, 'packages/store/src/index.ts'))) as typeof import('@pkim/store');
const dir = mkdtempSync(join(tmpdir(), 'pkim-svid-bench-'));
const store: Store = await openStore({ url: join(dir, 'pkim.db') });
const ca = activeRootCaRow(newId('ca'), 'svid-bench', randomCertificatePem(600), T0);
await store.commit({ insertCa: [ca] });
const spiffeId = 'spiffe://bench.test/node/bench-1';
const pem = randomCertificatePem(900);
const marks: string[] = [];
let cpu = process.cpuUsage();
for (let i = 1; i <= SVIDS; i++) {
  const id = newId('crt');
  const at = T0 + i;
  const cert: CertificateRow = {
    ...{ id, caId: ca.id, serialHex: id.slice(4).padEnd(40, '0'), subjectDn: 'O=workload', commonName: null },
    ...{ sans: { uri: [spiffeId] }, profile: 'spiffe-svid', keyType: 'ec-p384', notBefore: at, notAfter: at + 3.6e6 },
    ...{ status: 'active', revokedAt: null, revocationReason: null, fingerprintSha256: id.padEnd(64, '0') },
    ...{ certificatePem: pem, requestId: null, issuedBy: 'svid-bench', createdAt: at, renewedFrom: null },
    provisioner: null,
  };
  await store.commit({
    insertCertificates: [cert],
    insertSpiffeSvids: [
      {
        id,
        caId: ca.id,
        spiffeId,
        serviceType: 'node',
        notAfter: cert.notAfter,
        supersededBy: null,
        supersededAt: null,
        createdAt: at,
      },
    ],
    supersedeSpiffeSvids: [{ spiffeId, by: id, at }],
  });
  if (i % 1000 === 0) {
    const used = process.cpuUsage(cpu);
    marks.push(`${i}: ${Math.round((used.user + used.system) / 1000)}`);
    cpu = process.cpuUsage();
  }
}
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(`SVID commits of one SPIFFE ID, store of ${TREE}, load ${loadavg()[0]!.toFixed(1)}`);
console.log(`CPU µs per commit, by 1,000 commits (n = SVIDs of the ID so far): ${marks.join(', ')}`);
