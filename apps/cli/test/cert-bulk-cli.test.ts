import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { PKIM_BIN, runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { requireBinary } from '../../../tests/support/verifiers';

function openssl(args: string[], cwd: string): { code: number; out: string } {
  requireBinary('openssl');
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** rows that must fail, by data-row number, with the error code each gets */
const BAD_ROWS = new Map([
  [100, 'lint.invalid_san'], // a DNS name with a space
  [250, 'input.invalid'], // an unknown key type
  [400, 'profile.not_found'], // a profile that does not exist
]);
const IPV6_ROW = 7;

/** a 500-row CSV: quoted organisation with a comma, `;`-separated SANs (DNS, IPv4, one IPv6), three bad rows */
function bigCsv(): string {
  const lines = ['CN,O,OU,SANs,Profile,Key Type,Validity'];
  for (let i = 1; i <= 500; i++) {
    const cn = `host-${i}.bulk.example.com`;
    let sans = `${cn};10.20.${Math.floor(i / 250)}.${i % 250}`;
    let profile = 'tls-server';
    let keyType = '';
    if (i === IPV6_ROW) sans += ';2001:db8::7';
    if (i === 100) sans = 'bad name.example.com';
    if (i === 250) keyType = 'rsa-1000';
    if (i === 400) profile = 'no-such-profile';
    lines.push(`${cn},"Example, Inc.",Ops,${sans},${profile},${keyType},${i % 2 ? '30d' : ''}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

// 500 issuances and openssl on a loaded 2-core machine: generous timeouts
describe('pkim cert bulk: a CSV through the one signing pipeline', { timeout: 600_000 }, () => {
  const tmp = tempDir('pkim-bulk-');
  const dir = tmp.dir;
  const dataDir = join(dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: dir });
  const csv = join(dir, 'batch.csv');
  const db = () => new Database(join(dataDir, 'pkim.db'), { readonly: true });
  /** what a batch may change: certificates, their kept keys and counters */
  const snapshot = () => {
    const d = db();
    try {
      return {
        certificates: d.prepare('select id from certificates order by id').all(),
        keys: d.prepare('select certificate_id from certificate_keys order by certificate_id').all(),
        counts: d.prepare('select * from certificate_counts order by ca_id, profile, status').all(),
        auditSeq: (d.prepare('select max(seq) as s from audit_events').get() as { s: number }).s,
      };
    } finally {
      d.close();
    }
  };
  const auditSince = (seq: number) => {
    const d = db();
    try {
      return d
        .prepare('select actor, action, outcome, details from audit_events where seq > ? order by seq')
        .all(seq) as {
        actor: string;
        action: string;
        outcome: string;
        details: string;
      }[];
    } finally {
      d.close();
    }
  };

  /** each failed row's own event (action, row, code) and the batch id they all name, in row order */
  const rowEvents = (audit: { action: string; details: string }[], action: string) => {
    const events = audit
      .filter((e) => e.action === action)
      .map((e) => JSON.parse(e.details) as Record<string, unknown>);
    const batch = audit.find((e) => e.action === 'certificate.bulk');
    for (const d of events) expect(d.batchId).toBe((JSON.parse(batch!.details) as { batchId: string }).batchId);
    return new Map(events.map((d) => [d.row as number, d.code as string]));
  };

  beforeAll(() => {
    expect(pkim('init', '--json').code).toBe(0);
    expect(pkim('ca', 'create', '--name', 'root', '--subject', 'CN=Bulk Root', '--json').code).toBe(0);
    const int = pkim('ca', 'create', '--name', 'issuing', '--parent', 'root', '--subject', 'CN=Bulk Issuing', '--json');
    expect(int.code, int.stderr).toBe(0);
    writeFileSync(csv, bigCsv());
  });
  afterAll(() => tmp.cleanup());

  it('refuses a CSV over PKIM_BULK_MAX_ROWS before any row: one line, exit 2, nothing written', () => {
    const before = snapshot();
    const r = runPkim(['cert', 'bulk', '--ca', 'issuing', '--csv', csv, '--dry-run'], {
      dataDir,
      cwd: dir,
      env: { PKIM_BULK_MAX_ROWS: '499' },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: bulk\.too_many_rows: the CSV has 500 rows; a batch takes at most 499 /),
    ]);
    expect(snapshot()).toEqual(before);
    // a value out of range is a configuration error
    const bad = runPkim(['cert', 'bulk', '--ca', 'issuing', '--csv', csv, '--dry-run'], {
      dataDir,
      cwd: dir,
      env: { PKIM_BULK_MAX_ROWS: '0' },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('PKIM_BULK_MAX_ROWS');
  });

  it('dry run: reports exactly the 3 bad rows with their codes, signs and stores nothing', () => {
    const before = snapshot();
    const r = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', csv, '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('bulk.rows_failed');
    const out = r.json<{
      total: number;
      failed: number;
      issued: number;
      rows: { row: number; status: string; error?: { code: string } }[];
    }>();
    expect(out.total).toBe(500);
    expect(out.issued).toBe(0);
    const failed = out.rows.filter((x) => x.status === 'failed');
    expect(new Map(failed.map((x) => [x.row, x.error?.code]))).toEqual(BAD_ROWS);
    expect(out.rows.filter((x) => x.status === 'valid')).toHaveLength(497);
    // no progress bar without a terminal
    expect(r.stderr).not.toContain('\r');
    const after = snapshot();
    expect({ ...after, auditSeq: 0 }).toEqual({ ...before, auditSeq: 0 });
    const audit = auditSince(before.auditSeq);
    // each bad row audited on its own (batch id, row, code), then the batch
    expect(audit.map((e) => e.action)).toEqual([...Array(3).fill('certificate.check_failed'), 'certificate.bulk']);
    expect(rowEvents(audit, 'certificate.check_failed')).toEqual(BAD_ROWS);
    expect(JSON.parse(audit.at(-1)!.details)).toMatchObject({ dryRun: true, rows: 500, failed: 3, issued: 0 });
  });

  it('on a terminal, a batch past the delay shows a progress bar with rate and ETA on stderr', () => {
    requireBinary('script');
    // `script` gives the CLI a pseudo-terminal; PKIM_PROGRESS_DELAY_MS=0 shows the bar at once (default: after 2 s),
    // so the test does not depend on how fast this machine checks the rows
    const rows = Array.from({ length: 300 }, (_, i) => `tty-${i}.example.com,tty-${i}.example.com,tls-server`);
    writeFileSync(join(dir, 'tty.csv'), ['cn,sans,profile', ...rows].join('\n'));
    const command = [process.execPath, PKIM_BIN, 'cert', 'bulk', '--ca', 'issuing', '--csv', 'tty.csv', '--dry-run']
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-qefc', command, '/dev/null'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        PKIM_DATA_DIR: dataDir,
        PKIM_LOG_LEVEL: 'silent',
        PKIM_PROGRESS_DELAY_MS: '0',
        COLUMNS: '120',
      },
    });
    expect(r.stdout).toMatch(/check \[#*-*\] \d+\/300 +\d+% [\d.]+\/s ETA \d+/);
    expect(r.stdout).toContain('dry run: 300 of 300 rows would be issued');
  });

  it('all-or-nothing: with 3 bad rows issues none and leaves the certificates unchanged', () => {
    const before = snapshot();
    const r = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', csv, '--mode', 'all-or-nothing', '--keep-key', '--json');
    expect(r.code, r.stderr).toBe(5);
    const out = r.json<{ issued: number; failed: number; rows: { row: number; status: string }[] }>();
    expect(out.issued).toBe(0);
    expect(out.failed).toBe(3);
    expect(out.rows.filter((x) => x.status === 'not-issued')).toHaveLength(497);
    const after = snapshot();
    expect({ ...after, auditSeq: 0 }).toEqual({ ...before, auditSeq: 0 });
    const audit = auditSince(before.auditSeq);
    expect(audit.map((e) => [e.action, e.outcome])).toEqual([
      ...Array(3).fill(['certificate.check_failed', 'failure']),
      ['certificate.bulk', 'failure'],
    ]);
    expect(rowEvents(audit, 'certificate.check_failed')).toEqual(BAD_ROWS);
  });

  it('per-row: issues the 497 good rows (openssl verifies every one), reports the 3 bad ones, audits each', () => {
    const before = snapshot();
    const results = join(dir, 'results.csv');
    const r = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', csv, '--keep-key', '--out', results, '--json');
    expect(r.code, r.stderr).toBe(5);
    expect(r.json<{ issued: number }>().issued).toBe(497);
    const rows = parse<Record<string, string>>(readFileSync(results, 'utf8'), { columns: true });
    expect(rows).toHaveLength(500);
    const issued = rows.filter((x) => x.status === 'issued');
    expect(issued).toHaveLength(497);
    expect(new Map(rows.filter((x) => x.status === 'failed').map((x) => [Number(x.row), x.errorCode]))).toEqual(
      BAD_ROWS,
    );
    expect(rows.find((x) => x.row === '100')?.errorMessage).toContain('bad name.example.com');

    // every issued certificate, as stored, verified by openssl against the chain in one call
    const d = db();
    const pems = d
      .prepare(
        'select serial_hex as serial, certificate_pem as pem from certificates where id in ' +
          `(${issued.map(() => '?').join(',')})`,
      )
      .all(...issued.map((x) => x.certificateId)) as { serial: string; pem: string }[];
    d.close();
    expect(pems).toHaveLength(497);
    expect(new Set(pems.map((p) => p.serial))).toEqual(new Set(issued.map((x) => x.serial)));
    const certDir = join(dir, 'issued');
    mkdirSync(certDir);
    pems.forEach((p, i) => writeFileSync(join(certDir, `f${i}.pem`), p.pem));
    expect(pkim('ca', 'export', 'root', '--out', join(dir, 'root.pem'), '--json').code).toBe(0);
    expect(pkim('ca', 'export', 'issuing', '--out', join(dir, 'issuing.pem'), '--json').code).toBe(0);
    const files = readdirSync(certDir).map((f) => join('issued', f));
    const v = openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', ...files], dir);
    expect(v.code, v.out).toBe(0);
    expect(v.out.match(/: OK$/gm)).toHaveLength(497);

    // the IPv6 SAN is an IP SAN, the quoted comma stays in O
    const ipv6 = issued.find((x) => x.row === String(IPV6_ROW));
    const ipv6Pem = pems.find((p) => p.serial === ipv6?.serial)?.pem ?? '';
    writeFileSync(join(dir, 'ipv6.pem'), ipv6Pem);
    const text = openssl(['x509', '-in', 'ipv6.pem', '-noout', '-subject', '-ext', 'subjectAltName'], dir).out;
    expect(text).toContain('IP Address:2001:DB8:0:0:0:0:0:7');
    expect(text).toContain('DNS:host-7.bulk.example.com');
    expect(text).toMatch(/O = "Example, Inc\."/);

    const after = snapshot();
    expect(after.certificates.length - before.certificates.length).toBe(497);
    expect(after.keys.length - before.keys.length).toBe(497);
    const audit = auditSince(before.auditSeq);
    const issuedEvents = audit.filter((e) => e.action === 'certificate.issued');
    expect(issuedEvents).toHaveLength(497);
    expect(JSON.parse(issuedEvents[0]!.details).provisioner).toMatchObject({ kind: 'bulk' });
    // every bad row has its own failure event, the unknown key type (refused before the pipeline) too
    const failures = audit.filter((e) => e.action === 'certificate.issue_failed');
    expect(failures).toHaveLength(3);
    // those refused by the pipeline (lint, profile) name their batch and row as well
    expect(rowEvents(audit, 'certificate.issue_failed')).toEqual(BAD_ROWS);
    const refused = failures.map((e) => JSON.parse(e.details) as Record<string, unknown>).find((d) => d.row === 250);
    expect(refused).toMatchObject({ code: 'input.invalid', line: 251, source: 'server-generated-key' });
    expect(refused?.batchId).toMatch(/^blk/);
    const batch = audit.filter((e) => e.action === 'certificate.bulk');
    expect(batch).toHaveLength(1);
    expect(batch[0]!.actor).toMatch(/^cli:/);
    expect(JSON.parse(batch[0]!.details)).toMatchObject({ mode: 'per-row', rows: 500, issued: 497, failed: 3 });
  });

  it('generated keys as a ZIP of password-protected PKCS#12 files; all-or-nothing of good rows commits all', () => {
    const pw = join(dir, 'pw.txt');
    writeFileSync(pw, 'bulk password 1\n');
    writeFileSync(join(dir, 'wrong.txt'), 'not the password\n');
    const small = join(dir, 'small.csv');
    writeFileSync(
      small,
      'cn,sans,keyType,profile\n' +
        'k1.example.com,k1.example.com;fd00::1,ec-p384,tls-server\n' +
        '"k2.example.com","k2.example.com;192.0.2.2",rsa-2048,tls-server\n',
    );
    const zip = join(dir, 'keys.zip');
    const r = pkim(
      'cert',
      'bulk',
      '--ca',
      'issuing',
      '--csv',
      small,
      '--mode',
      'all-or-nothing',
      '--keys-zip',
      zip,
      '--password-file',
      pw,
      '--out',
      join(dir, 'small.json'),
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('PRIVATE KEY');
    const out = JSON.parse(readFileSync(join(dir, 'small.json'), 'utf8')) as {
      issued: number;
      rows: { keyFile: string }[];
    };
    expect(out.issued).toBe(2);
    const members = unzipSync(readFileSync(zip));
    expect(Object.keys(members).sort()).toEqual(out.rows.map((x) => x.keyFile).sort());
    for (const [name, body] of Object.entries(members)) {
      writeFileSync(join(dir, name), body);
      const ok = openssl(['pkcs12', '-in', name, '-passin', `file:${pw}`, '-info', '-noenc'], dir);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain('PRIVATE KEY');
      expect(ok.out).toContain('subject=CN = Bulk Issuing');
      expect(openssl(['pkcs12', '-in', name, '-passin', 'file:wrong.txt', '-info', '-noenc'], dir).code).not.toBe(0);
    }
    // keys without a destination are refused before anything is signed
    const refused = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', small);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: input\.invalid: .*--keys-zip/m);
    // a file that is not CSV
    writeFileSync(join(dir, 'broken.csv'), 'cn,o\n"unterminated,x\n');
    const broken = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', join(dir, 'broken.csv'), '--dry-run');
    expect(broken.stderr).toMatch(/^error: bulk\.invalid_csv: /m);
    writeFileSync(join(dir, 'typo.csv'), 'cn,sanz\na.example.com,a.example.com\n');
    const typo = pkim('cert', 'bulk', '--ca', 'issuing', '--csv', join(dir, 'typo.csv'), '--dry-run');
    // the error names the file it is about (apps/cli/src/input-files.ts)
    expect(typo.stderr).toMatch(/^error: bulk\.invalid_csv: CSV file '[^']*typo\.csv': unknown column 'sanz'/m);
  });
});
