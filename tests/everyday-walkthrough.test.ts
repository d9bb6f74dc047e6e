// docs/everyday.md walked verbatim (tests/support/doc-script.ts): its setup, exports, bulk CSV, batch and inventory
// blocks, one after the other in one bash on an empty data directory. What they leave is read by independent tools:
// the PKCS#12 files by openssl (key + chain, the modern and the legacy encryption), the JKS files by keytool when a
// JDK is installed, the chain and the bulk CSV's certificates (from the keys ZIP's PKCS#12 files) verified by openssl.
// Last, the inventory's REST `curl` from a `pkim serve` on the same data directory with the page's own token.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/everyday.md';
const BLOCKS = [
  'everyday-setup',
  'everyday-exports',
  'everyday-bulk',
  'everyday-batch',
  'everyday-inventory',
  'everyday-inventory-rest',
];
const PASSWORD = 'correct horse battery staple'; // pw.txt's line in the setup block

/** an inventory report's CSV (no field here holds a line break; a quoted one may hold commas) by its header */
function parseCsv(text: string): Record<string, string>[] {
  const fields = (row: string) =>
    [...row.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => m[1]?.replace(/""/g, '"') ?? m[2] ?? '');
  const [header, ...rows] = text.trim().split(/\r?\n/);
  const keys = fields(header!);
  return rows.map((row) => Object.fromEntries(fields(row).map((v, i) => [keys[i], v])));
}

describe('docs/everyday.md walk-through', () => {
  it('runs its blocks verbatim; openssl and keytool read what they write; revoked and expiring reports', async () => {
    for (const bin of ['bash', 'openssl', 'jq', 'unzip', 'curl']) requireBinary(bin);
    const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const script = BLOCKS.map((name) => markedBashBlock(md, name, DOC)).join('\n');
    const tmp = tempDir('pkim-everyday-');
    try {
      const run = await runDocScript(tmp.dir, script);
      expect(run.code, run.out).toBe(0);
      const file = (f: string) => join(run.work, f);
      const openssl = (...args: string[]) =>
        execFileSync('openssl', args, { cwd: run.work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

      // the exports: PKCS#12 (key + leaf + issuing + root), legacy PKCS#12 (3DES), the chain without the root
      for (const [p12, cipher] of [
        ['app.p12', /PBES2, PBKDF2, AES-256-CBC/],
        ['app-old-appliance.p12', /pbeWithSHA1And3-KeyTripleDES-CBC/],
      ] as const) {
        const info = spawnSync(
          'openssl',
          ['pkcs12', '-in', file(p12), '-passin', `pass:${PASSWORD}`, '-info', '-nodes'],
          {
            encoding: 'utf8',
          },
        );
        expect(info.status, info.stderr).toBe(0);
        expect(info.stderr).toMatch(cipher);
        expect(info.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
        expect(info.stdout).toMatch(/-----BEGIN PRIVATE KEY-----/);
      }
      const chain = readFileSync(file('app.chain.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----/g);
      expect(chain).toHaveLength(2); // leaf + issuing, no root (--no-root)
      openssl('pkcs12', '-in', 'app.p12', '-passin', `pass:${PASSWORD}`, '-nokeys', '-cacerts', '-out', 'cas.pem');
      openssl('x509', '-in', 'app.chain.pem', '-out', 'leaf.pem');
      expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'cas.pem', 'leaf.pem')).toContain(
        'leaf.pem: OK',
      );
      if (spawnSync('sh', ['-c', 'command -v keytool']).status === 0) {
        for (const [jks, entry] of [
          ['app.jks', /PrivateKeyEntry/],
          ['truststore.jks', /trustedCertEntry/],
        ] as const) {
          const list = execFileSync('keytool', ['-list', '-keystore', file(jks), '-storepass', PASSWORD], {
            encoding: 'utf8',
          });
          expect(list).toMatch(entry);
        }
      }

      // the bulk CSV: the dry run and both runs issued every row of the page's CSV
      expect(run.out).toContain('dry run: 2 of 2 rows would be issued, 0 failed (nothing signed)');
      const results = readFileSync(file('results.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
      expect(results.map((r) => r.split(',').slice(0, 4).join(','))).toEqual([
        '1,2,issued,www.example.com',
        '2,3,issued,mail.example.com',
      ]);
      const all = JSON.parse(readFileSync(file('all-or-nothing.json'), 'utf8')) as { issued: number; ok: boolean };
      expect(all).toMatchObject({ issued: 2, ok: true });
      execFileSync('unzip', ['-q', '-d', file('keys'), file('keys.zip')]);
      const p12s = readdirSync(file('keys')).sort();
      expect(p12s).toEqual(['row-0001-www.example.com.p12', 'row-0002-mail.example.com.p12']);
      for (const p12 of p12s) {
        openssl(
          'pkcs12',
          '-in',
          join('keys', p12),
          '-passin',
          `pass:${PASSWORD}`,
          '-nokeys',
          '-clcerts',
          '-out',
          'row.pem',
        );
        expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'cas.pem', 'row.pem')).toContain(
          'row.pem: OK',
        );
      }

      // the batches: the exported app certificate revoked as compromised; the inventory lists it so
      expect(run.out).toContain('1 of 1 certificates revoked');
      const revoked = JSON.parse(readFileSync(file('revoked.json'), 'utf8')) as { serial: string; status: string }[];
      const serial = readFileSync(file('compromised.txt'), 'utf8').trim().split('\n').at(-1);
      expect(revoked.map((c) => [c.serial, c.status])).toEqual([[serial, 'revoked']]);
      const inventory = readFileSync(file('inventory.csv'), 'utf8').trim().split(/\r?\n/);
      expect(inventory[0]).toMatch(/^id,serial,subject,common_name,/);
      expect(inventory).toHaveLength(1 + 1 + 2 + 2 + 1); // header, the app, the two bulk runs' rows, the demo
      // `--sort expiry_asc`: the soonest to end first (the default, newest issued first, put the demo first too but
      // the app, issued before the bulk runs with a 90-day lifetime as theirs, last)
      const byEnd = parseCsv(readFileSync(file('inventory.csv'), 'utf8'));
      expect(byEnd[0]!.common_name).toBe('demo.example.com');
      const ends = byEnd.map((r) => Date.parse(r.not_after!));
      expect(ends).toEqual([...ends].sort((a, b) => a - b));
      // the page of the next to end, soonest first, in the table (under its header's rule): the demo on top
      const table = run.out.split('\n');
      const header = table.findIndex((l) => /^SERIAL\s+CA\s+STATUS\s+DAYS LEFT\s+NAME\s*$/.test(l));
      expect(header, run.out).toBeGreaterThanOrEqual(0);
      const soonest = table.slice(header + 2, header + 5).map((l) => l.trim().split(/\s+/));
      expect(soonest.map((cells) => cells.at(-1))[0]).toBe('demo.example.com');
      expect(soonest.map((cells) => cells[2])).toEqual(['active', 'active', 'active']);
      const daysLeft = soonest.map((cells) => Number(cells[3]));
      expect(daysLeft[0]).toBe(6);
      expect(daysLeft).toEqual([...daysLeft].sort((a, b) => a - b));
      // the expiring report lists the inventory block's one-week certificate, and only it (the others live 90 days+)
      const expiring = parseCsv(readFileSync(file('expiring.csv'), 'utf8'));
      const demo = readFileSync(file('demo.pem'), 'utf8');
      const demoSerial = openssl('x509', '-in', 'demo.pem', '-noout', '-serial').trim().split('=')[1]!.toLowerCase();
      expect(demo).toMatch(/-----BEGIN CERTIFICATE-----/);
      expect(
        expiring.map((r) => [r.common_name, r.serial!.replace(/^0+/, ''), r.status, r.days_left, r.ca_name]),
      ).toEqual([['demo.example.com', demoSerial.replace(/^0+/, ''), 'active', '6', 'issuing']]);
      expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'cas.pem', 'demo.pem')).toContain(
        'demo.pem: OK',
      );
      execFileSync('unzip', ['-q', '-d', file('zip'), file('certificates.zip')]);

      // the REST downloads from `pkim serve` with the page's auditor token: the CLI's reports of the same filters
      const downloaded = readdirSync(run.work).filter((f) => /^certificates-\d{4}-\d{2}-\d{2}\.(csv|json)$/.test(f));
      expect(downloaded.map((f) => f.slice(-4)).sort(), run.out).toEqual(['.csv', 'json']);
      const rest = (ext: string) => readFileSync(file(downloaded.find((f) => f.endsWith(ext))!), 'utf8');
      expect(rest('.csv')).toBe(readFileSync(file('expiring.csv'), 'utf8'));
      expect(parseCsv(rest('.csv')).map((r) => r.common_name)).toEqual(['demo.example.com']);
      expect(JSON.parse(rest('.json'))).toEqual(revoked);
      expect(revoked).toHaveLength(1);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
