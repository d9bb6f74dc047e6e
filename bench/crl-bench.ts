// `npm run bench:crl`: a CRL with BENCH_CRL_ENTRIES (default 1,000,000) revoked certificates.
// The parent seeds the rows (Store.importRows in 20k batches) under an EC P-256 CA; a SEPARATE process opens the data
// dir and generates the CRL, so the peak RSS it prints (process.resourceUsage().maxRSS) is the CRL work alone (plus
// the authority's start-up). openssl then verifies the CRL's signature. Issue #12 goal: < 10 s and < 500 MB.
// Prints a markdown table. Everything is removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { openStore } from '@pkim/store';

const ENTRIES = Number(process.env.BENCH_CRL_ENTRIES ?? 1_000_000);
const SELF = fileURLToPath(import.meta.url);
const silent = pino({ level: 'silent' });
const actor = { id: 'bench', role: 'admin' as const };
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;
const REASONS = ['keyCompromise', 'superseded', 'cessationOfOperation', null] as const;

/** child: generate the CRL once, print time, size and peak RSS */
async function generate(dataDir: string, caId: string, out: string): Promise<void> {
  const a = await createAuthority({ dataDir, logger: silent, create: false });
  const rssBefore = process.resourceUsage().maxRSS;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const crl = await a.crl.generate(caId, actor);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  writeFileSync(out, crl.der);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  await a.close();
  process.stdout.write(
    `${JSON.stringify({ seconds, cpuSeconds, bytes: crl.der.length, maxRssMb, startRssMb: rssBefore / 1024 })}\n`,
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'pkim-bench-crl-'));
  try {
    const dataDir = join(tmp, 'data');
    const a = await createAuthority({ dataDir, logger: silent });
    const root = await a.cas.create({ name: 'crl-root', subject: 'CN=CRL Bench Root', keyType: 'ec-p256' }, actor);
    await a.close();
    const store = await openStore({ url: join(dataDir, 'pkim.db') });
    const t0 = performance.now();
    const now = Date.now();
    for (let i = 0; i < ENTRIES; i += 20_000) {
      const rows: Record<string, unknown>[] = [];
      for (let j = i; j < Math.min(ENTRIES, i + 20_000); j++) {
        const cn = `host${j}.example.com`;
        rows.push({
          id: `crt_crlbench${String(j).padStart(9, '0')}`,
          caId: root.ca.id,
          // 16-byte serials with the high bit clear, as pkim issues them
          serialHex: (0x10_0000_0000 + j).toString(16).padStart(32, '1'),
          subjectDn: `CN=${cn}`,
          commonName: cn,
          sans: { dns: [cn] },
          profile: 'tls-server',
          keyType: 'ec-p256',
          notBefore: now - 86_400_000,
          notAfter: now + 90 * 86_400_000,
          status: 'revoked',
          revokedAt: now - j,
          revocationReason: REASONS[j % REASONS.length],
          fingerprintSha256: j.toString(16).padStart(64, '0'),
          certificatePem: PEM,
          requestId: null,
          issuedBy: 'bench',
          createdAt: now - ENTRIES + j,
        });
      }
      await store.importRows('certificates', rows);
    }
    await store.close();
    const seedSeconds = (performance.now() - t0) / 1000;

    const out = join(tmp, 'big.crl');
    const child = spawnSync(process.execPath, ['--import', 'tsx', SELF, 'generate', dataDir, root.ca.id, out], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) throw new Error(`CRL generation failed:\n${child.stdout}\n${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
      seconds: number;
      cpuSeconds: number;
      bytes: number;
      maxRssMb: number;
      startRssMb: number;
    };
    writeFileSync(join(tmp, 'root.pem'), root.certificatePem!);
    const v0 = performance.now();
    const verify = spawnSync(
      'openssl',
      ['crl', '-inform', 'DER', '-in', out, '-CAfile', join(tmp, 'root.pem'), '-verify', '-noout'],
      { encoding: 'utf8' },
    );
    const opensslSeconds = (performance.now() - v0) / 1000;
    const verified = verify.status === 0 && (verify.stderr + verify.stdout).includes('verify OK');
    const lines = [
      '| CRL entries | generate (s wall) | CPU (s) | CRL size (MB) | peak RSS of the generating process (MB) | ' +
        'openssl verify |',
      `|---:|---:|---:|---:|---:|---|`,
      `| ${ENTRIES.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ` +
        `${(r.bytes / 1e6).toFixed(1)} | ` +
        `${r.maxRssMb.toFixed(0)} (after start-up: ${r.startRssMb.toFixed(0)}) | ` +
        `${verified ? 'OK' : 'FAILED'} (${opensslSeconds.toFixed(1)} s) |`,
      '',
      `Seeding ${ENTRIES.toLocaleString('en')} revoked rows (SQLite, importRows): ${seedSeconds.toFixed(1)} s. ` +
        'Goal (issue #12): < 10 s and < 500 MB.',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!verified) {
      process.stderr.write(`openssl: ${verify.stderr}\n`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'generate') await generate(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
