import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildCsr, parseDn, toPem } from '@pkim/core';
import { createAuthority } from '@pkim/authority';
const admin = { id: 'bench', role: 'admin' as const };
const csrs: string[] = [];
for (let i = 0; i < 64; i++) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  csrs.push(toPem(await buildCsr({ subject: parseDn(`CN=h${i}.example.com`), sans: { dns: [`h${i}.example.com`] }, publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })), keyType: 'ec-p256' }, (d) => new Uint8Array(sign('sha256', d, privateKey))), 'CERTIFICATE REQUEST'));
}
const dir = mkdtempSync(join(tmpdir(), 'pkim-prof-'));
const a = await createAuthority({ dataDir: dir, databaseUrl: process.env.DBURL, logger: pino({ level: 'silent' }) });
const root = await a.cas.create({ name: 'r', subject: 'CN=R', keyType: 'ec-p256' }, admin);
let n = 0; const end = Date.now() + 4000;
await Promise.all(Array.from({ length: Number(process.env.CONC ?? 16) }, async () => { while (Date.now() < end) { await a.issuance.issueFromCsr({ caId: root.ca.id, csrPem: csrs[n++ % 64], profile: 'tls-server' }, admin); } }));
console.log('issued', n, (n / 4).toFixed(0), '/s');
await a.close();
const bs = (globalThis as any).__batches as number[] | undefined;
if (bs) { const h = new Map<number, number>(); for (const b of bs) h.set(b, (h.get(b) ?? 0) + 1); console.log('batches', bs.length, [...h].sort((a, b) => a[0] - b[0])); }
