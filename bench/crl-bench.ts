// `npm run bench:crl`: a CRL with BENCH_CRL_ENTRIES (default 1,000,000) revoked certificates.
// The parent seeds the rows (Store.importRows in 20k batches) under an EC P-256 CA; a SEPARATE process opens the data
// dir and generates the CRL, so the peak RSS it prints (process.resourceUsage().maxRSS) is the CRL work alone (plus
// the authority's start-up). openssl, GnuTLS certtool and Go's x509.ParseRevocationList then verify the CRL's
// signature (and Go counts its entries). Issue #12 goal: < 10 s and < 500 MB.
// The same process then answers OCSP requests without nonce (openssl-made) for a revoked serial among the 1,000,000
// and for a good certificate of the same CA: time per lookup, each answer checked by `openssl ocsp` (issue #12 item 5:
// status lookups O(1) with 1,000,000 revoked).
// The peer in the same run: `openssl ca -gencrl` over an index.txt with the same revoked entries (EC P-256 CA key),
// its wall time and peak RSS (/usr/bin/time -f %M, Debian's `time` package) beside ours, with the ratio.
// Prints a markdown table. Everything is removed at the end.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createAuthority, partitionOf } from '@pkim/authority';
import { openStore } from '@pkim/store';
import { goVerifyBinary } from '../tests/support/verifiers';

const ENTRIES = Number(process.env.BENCH_CRL_ENTRIES ?? 1_000_000);
const SELF = fileURLToPath(import.meta.url);
const silent = pino({ level: 'silent' });
const actor = { id: 'bench', role: 'admin' as const };
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;
const REASONS = ['keyCompromise', 'superseded', 'cessationOfOperation', null] as const;
const BASE = 'http://pki.bench.test';
const DAY = 86_400_000;
/** the seeded rows expire over 90 days (13 partitions of 7 days) */
const notAfterOf = (now: number, j: number) => now + (1 + (j % 90)) * DAY;
/**
 * the serial of seeded row j, as pkim issues them since bb2128a (core/serial-number.ts): 20 bytes, the issuance time
 * in milliseconds (the row's createdAt, one row per millisecond) in the first 6, then 14 bytes that look random
 */
const serialOf = (now: number, j: number) =>
  (now - ENTRIES + j).toString(16).padStart(12, '0') + createHash('sha256').update(`r${j}`).digest('hex').slice(0, 28);

/** child: generate the CRL once, print time, size and peak RSS; then time OCSP lookups for the given requests */
async function generate(dataDir: string, caId: string, out: string, ocspReqs: string[]): Promise<void> {
  const a = await createAuthority({ dataDir, logger: silent, create: false, publicBaseUrl: BASE });
  const rssBefore = process.resourceUsage().maxRSS;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  // while it builds: the event loop's delay (max, p99), a timer every 50 ms (the longest gap between two of its
  // turns, less 50) and an OCSP request for the good certificate from each turn (the slowest answer)
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const goodReq = ocspReqs[1] ? new Uint8Array(readFileSync(ocspReqs[1])) : undefined;
  let lastTurn = performance.now();
  let longestGap = 0;
  let slowestOcsp = 0;
  let ocspAnswers = 0;
  const probe = setInterval(() => {
    const t = performance.now();
    longestGap = Math.max(longestGap, t - lastTurn - 50);
    lastTurn = t;
    if (goodReq)
      void a.ocsp.respond(goodReq).then(() => {
        slowestOcsp = Math.max(slowestOcsp, performance.now() - t);
        ocspAnswers++;
      });
  }, 50);
  const crl = await a.crl.generate(caId, actor);
  const seconds = (performance.now() - start) / 1000;
  clearInterval(probe);
  loop.disable();
  const stall = {
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    longestGapMs: Math.max(longestGap, performance.now() - lastTurn - 50),
    slowestOcspMs: slowestOcsp,
    ocspAnswers,
  };
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  writeFileSync(out, crl.der);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  // one CRL partition (docs/crl.md): the revoked certificates expiring in the 7-day window of PARTITION_AT
  const p0 = performance.now();
  const part = await a.crl.current(caId, partitionOf(Number(process.env.PARTITION_AT), 7));
  const partitionSeconds = (performance.now() - p0) / 1000;
  writeFileSync(`${out}.part`, part.der);
  const ocsp: { status: string; firstMs: number; usPerLookup: number }[] = [];
  for (const path of ocspReqs) {
    const req = new Uint8Array(readFileSync(path));
    const f0 = performance.now();
    const first = await a.ocsp.respond(req); // a seeded row has no stored response yet: signed and stored now
    const firstMs = performance.now() - f0;
    const n = 2000;
    const t0 = performance.now();
    let last = first;
    for (let i = 0; i < n; i++) last = await a.ocsp.respond(req);
    ocsp.push({ status: last.statuses.join(','), firstMs, usPerLookup: ((performance.now() - t0) * 1000) / n });
    writeFileSync(`${path}.resp`, last.der);
  }
  await a.close();
  process.stdout.write(
    `${JSON.stringify({
      ...{ seconds, cpuSeconds, bytes: crl.der.length, maxRssMb, startRssMb: rssBefore / 1024, ocsp },
      ...{ partitionSeconds, partitionBytes: part.der.length, stall },
    })}\n`,
  );
}

/** GnuTLS `certtool --verify-crl` and Go `x509.ParseRevocationList` + `CheckSignatureFrom` over the CRL file */
function otherVerifiers(crlPath: string, issuerPath: string, entries = ENTRIES): { certtool: string; go: string } {
  const timed = (fn: () => boolean): string => {
    const t0 = performance.now();
    const ok = fn();
    return `${ok ? 'OK' : 'FAILED'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
  };
  const pemPath = `${crlPath}.pem`;
  // GnuTLS reads the entries of a CRL in quadratic time (33 s for 20,000 on the 2-core machine): larger CRLs skip it
  const certtoolMax = Number(process.env.BENCH_CERTTOOL_MAX ?? 20_000);
  const certtool = !hasBinary('certtool')
    ? 'not installed'
    : entries > certtoolMax
      ? `skipped above ${certtoolMax.toLocaleString('en')} entries (BENCH_CERTTOOL_MAX)`
      : timed(() => {
          const b64 = readFileSync(crlPath)
            .toString('base64')
            .replace(/.{1,64}/g, '$&\n');
          writeFileSync(pemPath, `-----BEGIN X509 CRL-----\n${b64}-----END X509 CRL-----\n`);
          const args = ['--verify-crl', '--load-ca-certificate', issuerPath, '--infile', pemPath];
          // its listing of 1,000,000 entries goes to a file; the verdict is at the end
          const log = `${crlPath}.certtool.txt`;
          const r = spawnSync('sh', ['-c', 'certtool "$@" > "$0" 2>&1', log, ...args]);
          const text = readFileSync(log, 'utf8').slice(-2000);
          return r.status === 0 && text.includes('Verification output: Verified') && !text.includes('Not verified');
        });
  let go = 'not installed';
  if (hasBinary('go')) {
    const bin = goVerifyBinary();
    go = timed(() => {
      const log = `${crlPath}.go.txt`;
      const r = spawnSync('sh', ['-c', '"$1" -crl "$2" -issuer "$3" > "$0" 2>&1', log, bin, crlPath, issuerPath]);
      const head = readFileSync(log, 'utf8').slice(0, 300);
      const m = /(\d+) entries/.exec(head);
      return r.status === 0 && head.startsWith('PASS') && Number(m?.[1]) === entries;
    });
  }
  return { certtool, go };
}

function hasBinary(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
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
    const serial = serialOf(now, j).toUpperCase();
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
    const a = await createAuthority({ dataDir, logger: silent, publicBaseUrl: BASE });
    const root = await a.cas.create({ name: 'crl-root', subject: 'CN=CRL Bench Root', keyType: 'ec-p256' }, actor);
    // one good certificate beside the revoked ones: its OCSP lookup is timed too
    const good = await a.issuance.issueWithKey(
      {
        caId: root.ca.id,
        profile: 'tls-server',
        subject: { commonName: 'good.example.com' },
        sans: { dns: ['good.example.com'] },
        keyType: 'ec-p256',
      },
      actor,
    );
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
          serialHex: serialOf(now, j),
          subjectDn: `CN=${cn}`,
          commonName: cn,
          sans: { dns: [cn] },
          profile: 'tls-server',
          keyType: 'ec-p256',
          notBefore: now - 86_400_000,
          notAfter: notAfterOf(now, j),
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
    const rootPath = join(tmp, 'root.pem');
    writeFileSync(rootPath, root.certificatePem!);
    // OCSP requests without nonce made by openssl for a revoked serial (the middle of the seeded ones) and the good one
    const revokedSerial = serialOf(now, Math.floor(ENTRIES / 2));
    const ocspReq = (name: string, serialHex: string) => {
      const path = join(tmp, `${name}.req`);
      const r = spawnSync('openssl', [
        'ocsp',
        '-issuer',
        rootPath,
        '-serial',
        `0x${serialHex}`,
        '-no_nonce',
        '-reqout',
        path,
      ]);
      if (r.status !== 0) throw new Error(`openssl ocsp -reqout: ${r.stderr.toString()}`);
      return path;
    };
    const reqs = [ocspReq('revoked', revokedSerial), ocspReq('good', good.certificate.serialHex)];
    const partitionAt = now + 45 * DAY;
    const window = partitionOf(partitionAt, 7);
    let partitionEntries = 0;
    for (let j = 0; j < ENTRIES; j++) {
      const t = notAfterOf(now, j);
      if (t >= window.start && t < window.end) partitionEntries++;
    }
    const child = spawnSync(
      process.execPath,
      [
        // BENCH_CPU_PROF=DIR: a V8 CPU profile of the generating process in DIR (node --cpu-prof)
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
        ...['--import', 'tsx', SELF, 'generate', dataDir, root.ca.id, out, ...reqs],
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, PARTITION_AT: String(partitionAt) } },
    );
    if (child.status !== 0) throw new Error(`CRL generation failed:\n${child.stdout}\n${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
      seconds: number;
      cpuSeconds: number;
      bytes: number;
      maxRssMb: number;
      startRssMb: number;
      ocsp: { status: string; firstMs: number; usPerLookup: number }[];
      partitionSeconds: number;
      partitionBytes: number;
      stall: { loopMaxMs: number; loopP99Ms: number; longestGapMs: number; slowestOcspMs: number; ocspAnswers: number };
    };
    const v0 = performance.now();
    const verify = spawnSync(
      'openssl',
      ['crl', '-inform', 'DER', '-in', out, '-CAfile', rootPath, '-verify', '-noout'],
      { encoding: 'utf8' },
    );
    const opensslSeconds = (performance.now() - v0) / 1000;
    const verified = verify.status === 0 && (verify.stderr + verify.stdout).includes('verify OK');
    const others = otherVerifiers(out, rootPath);
    const part = otherVerifiers(`${out}.part`, rootPath, partitionEntries);
    const partOpenssl = spawnSync(
      'openssl',
      ['crl', '-inform', 'DER', '-in', `${out}.part`, '-CAfile', rootPath, '-verify', '-noout', '-text'],
      { encoding: 'utf8', maxBuffer: 1 << 30 },
    );
    const partVerified =
      partOpenssl.status === 0 &&
      partOpenssl.stderr.includes('verify OK') &&
      partOpenssl.stdout.includes('Issuing Distribution Point: critical');
    // `openssl ocsp` over each answer: signature, and the status it reads for the serial asked
    const ocspChecked = [revokedSerial, good.certificate.serialHex].map((serial, i) => {
      const args = ['ocsp', '-respin', `${reqs[i]}.resp`, '-issuer', rootPath, '-CAfile', rootPath];
      const v = spawnSync('openssl', [...args, '-no_nonce', '-serial', `0x${serial}`], { encoding: 'utf8' });
      const text = v.stdout + v.stderr;
      return text.includes('Response verify OK') ? (/: (good|revoked|unknown)/.exec(text)?.[1] ?? '?') : 'FAILED';
    });
    const ocspOk = ocspChecked[0] === 'revoked' && ocspChecked[1] === 'good';
    const peer = opensslPeer(tmp, ENTRIES, now);
    const lines = [
      '| CRL entries | generate (s wall) | CPU (s) | CRL size (MB) | peak RSS of the generating process (MB) | ' +
        'openssl verify | certtool verify | Go ParseRevocationList |',
      `|---:|---:|---:|---:|---:|---|---|---|`,
      `| ${ENTRIES.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ` +
        `${(r.bytes / 1e6).toFixed(1)} | ` +
        `${r.maxRssMb.toFixed(0)} (after start-up: ${r.startRssMb.toFixed(0)}) | ` +
        `${verified ? 'OK' : 'FAILED'} (${opensslSeconds.toFixed(1)} s) | ${others.certtool} | ${others.go} |`,
      `| same entries, \`openssl ca -gencrl\` (peer, same run) | ${peer.seconds.toFixed(2)} | | | ` +
        `${peer.maxRssMb === null ? 'n/a' : peer.maxRssMb.toFixed(0)} | ${peer.ok ? 'generated' : 'FAILED'} | | |`,
      `| one partition (7-day notAfter window, critical issuingDistributionPoint), ` +
        `${partitionEntries.toLocaleString('en')} of the entries | ${r.partitionSeconds.toFixed(2)} | | ` +
        `${(r.partitionBytes / 1e6).toFixed(1)} | | ${partVerified ? 'OK' : 'FAILED'} | ` +
        `${part.certtool} | ${part.go} |`,
      '',
      `| OCSP request without nonce, ${ENTRIES.toLocaleString('en')} revoked rows in the CA | first answer (ms) | ` +
        'µs per lookup (2,000 in a row, in-process `ocsp.respond`) | `openssl ocsp` reads |',
      '|---|---:|---:|---|',
      ...r.ocsp.map(
        (o, i) =>
          `| ${i === 0 ? 'a revoked serial (signed on first request, then stored)' : 'a good certificate'} | ` +
          `${o.firstMs.toFixed(1)} | ${o.usPerLookup.toFixed(0)} | ${ocspChecked[i]} |`,
      ),
      '',
      `The event loop while the complete CRL was built (a 50 ms timer in the same process): longest stall ` +
        `${r.stall.longestGapMs.toFixed(0)} ms, monitorEventLoopDelay max ${r.stall.loopMaxMs.toFixed(0)} ms / ` +
        `p99 ${r.stall.loopP99Ms.toFixed(0)} ms; an OCSP request (good certificate) from each turn: ` +
        `${r.stall.ocspAnswers} answered, the slowest in ${r.stall.slowestOcspMs.toFixed(0)} ms.`,
      '',
      `pkim / openssl wall-time ratio: ${(peer.seconds / r.seconds).toFixed(2)} (> 1: pkim faster).`,
      '',
      `Seeding ${ENTRIES.toLocaleString('en')} revoked rows (SQLite, importRows): ${seedSeconds.toFixed(1)} s. ` +
        'Goal (issue #12): < 10 s and < 500 MB.',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!verified) process.stderr.write(`openssl: ${verify.stderr}\n`);
    const verdicts = [others.certtool, others.go, part.certtool, part.go];
    if (!verified || !partVerified || !ocspOk || verdicts.some((v) => v.startsWith('FAILED'))) process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'generate') {
  await generate(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv.slice(6));
} else await main();
