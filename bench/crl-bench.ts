// `npm run bench:crl`: a CRL with BENCH_CRL_ENTRIES (default 1,000,000) revoked certificates.
// The parent seeds the rows (Store.importRows in 20k batches) under an EC P-256 CA; a SEPARATE process opens the data
// dir and generates the CRL, so the peak RSS it prints (process.resourceUsage().maxRSS) is the CRL work alone (plus
// the authority's start-up). openssl then verifies the CRL's signature. Issue #12 goal: < 10 s and < 500 MB.
// The peer in the same run: `openssl ca -gencrl` over an index.txt with the same revoked entries (EC P-256 CA key),
// its wall time and peak RSS (/usr/bin/time -f %M, Debian's `time` package) beside ours, with the ratio.
// Prints a markdown table. Everything is removed at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** `openssl ca -gencrl` over an index of `n` revoked entries: wall seconds, peak RSS (MB, when /usr/bin/time exists) */
function opensslPeer(dir: string, n: number, now: number): { seconds: number; maxRssMb: number | null; ok: boolean } {
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'peer.key']);
  run('openssl', [
    'req',
    '-new',
    '-x509',
    '-key',
    'peer.key',
    '-subj',
    '/CN=Peer CRL Root',
    '-days',
    '30',
    '-out',
    'peer.pem',
  ]);
  const asn1 = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation', null];
  const expiry = asn1(now + 90 * 86_400_000);
  const lines: string[] = [];
  for (let j = 0; j < n; j++) {
    const reason = reasons[j % reasons.length];
    const revoked = asn1(now - j) + (reason ? `,${reason}` : '');
    const serial = (0x10_0000_0000 + j).toString(16).padStart(32, '1').toUpperCase();
    lines.push(`R\t${expiry}\t${revoked}\t${serial}\tunknown\t/CN=host${j}.example.com`);
  }
  writeFileSync(join(dir, 'index.txt'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = peer\n[peer]\ndatabase = index.txt\ncertificate = peer.pem\nprivate_key = peer.key\n' +
      'crlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\nunique_subject = no\n',
  );
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const timed = existsSync('/usr/bin/time');
  const args = ['ca', '-gencrl', '-config', 'ca.cnf', '-out', 'peer.crl'];
  const t0 = performance.now();
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', 'openssl', ...args], { cwd: dir, encoding: 'utf8' })
    : spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  const m = /maxrss=(\d+)/.exec(r.stderr);
  return { seconds, maxRssMb: m ? Number(m[1]) / 1024 : null, ok: r.status === 0 };
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
    const peer = opensslPeer(tmp, ENTRIES, now);
    const lines = [
      '| CRL entries | generate (s wall) | CPU (s) | CRL size (MB) | peak RSS of the generating process (MB) | ' +
        'openssl verify |',
      `|---:|---:|---:|---:|---:|---|`,
      `| ${ENTRIES.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ` +
        `${(r.bytes / 1e6).toFixed(1)} | ` +
        `${r.maxRssMb.toFixed(0)} (after start-up: ${r.startRssMb.toFixed(0)}) | ` +
        `${verified ? 'OK' : 'FAILED'} (${opensslSeconds.toFixed(1)} s) |`,
      `| same entries, \`openssl ca -gencrl\` (peer, same run) | ${peer.seconds.toFixed(2)} | | | ` +
        `${peer.maxRssMb === null ? 'n/a' : peer.maxRssMb.toFixed(0)} | ${peer.ok ? 'generated' : 'FAILED'} |`,
      '',
      `pkim / openssl wall-time ratio: ${(peer.seconds / r.seconds).toFixed(2)} (> 1: pkim faster).`,
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
