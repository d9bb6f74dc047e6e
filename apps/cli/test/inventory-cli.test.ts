// `pkim cert list --format csv|json [--out F]`: the inventory report of every certificate matching the filters
// (issue #16 item 4), parsed back with csv-parse and compared with `pkim cert list --json` of the same filters;
// audited with the CLI actor. The certificates are issued in-process through the signing pipeline (the CLI would
// spawn once per certificate) and checked by openssl.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { pino } from 'pino';
import { INVENTORY_COLUMNS, createAuthority, type Actor } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

const admin: Actor = { id: 'usr_inv_cli', name: 'alice', role: 'admin' };
const DAY = 86_400_000;

describe('pkim cert list --format csv|json (inventory reports)', { timeout: 180_000 }, () => {
  const tmp = tempDir('pkim-inventory-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: tmp.dir });

  beforeAll(async () => {
    expect(pkim('init', '--json').code).toBe(0);
    const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const root = await a.cas.create({ name: 'root', subject: 'CN=Inventory CLI Root', keyType: 'ec-p256' }, admin);
      const issuing = await a.cas.create(
        { name: 'issuing', subject: 'CN=Inventory CLI Issuing', keyType: 'ec-p256', parentId: root.ca.id },
        admin,
      );
      for (const [i, cn] of ['a.example.com', 'b.example.com', 'c.example.org', 'd.example.org'].entries()) {
        const r = await a.issuance.issueWithKey(
          {
            caId: issuing.ca.id,
            profile: i === 3 ? 'tls-client' : 'tls-server',
            subject: { commonName: cn, organization: 'Example, Inc.' },
            sans: { dns: [cn], ip: i === 0 ? ['2001:db8::7'] : [] },
            keyType: 'ec-p256',
            validityMs: (10 + 30 * i) * DAY,
          },
          admin,
        );
        const v = opensslVerify({
          leafPem: r.certificatePem,
          chainPems: [issuing.certificatePem!],
          rootPem: root.certificatePem!,
        });
        expect(v.ok, v.output).toBe(true);
        if (i === 2) await a.certificates.revoke(r.certificate.id, 'superseded', admin);
      }
    } finally {
      await a.close();
    }
  });
  afterAll(() => tmp.cleanup());

  it('CSV on stdout: every certificate of the filter, the same as the JSON list, one field per column', () => {
    const filter = ['--ca', 'issuing', '--status', 'active', '--expiring-within', '60d'];
    const r = pkim('cert', 'list', ...filter, '--format', 'csv');
    expect(r.code, r.stderr).toBe(0);
    const rows = parse<Record<string, string>>(r.stdout, { columns: true });
    const listed = pkim('cert', 'list', ...filter, '--json', '--limit', '1000').json<{
      items: { id: string; serial: string; notAfter: string; commonName: string }[];
    }>().items;
    expect(listed.map((c) => c.commonName)).toEqual(['b.example.com', 'a.example.com']);
    expect(rows.map((x) => [x.id, x.serial, x.not_after])).toEqual(listed.map((c) => [c.id, c.serial, c.notAfter]));
    expect(Object.keys(rows[0]!)).toEqual([...INVENTORY_COLUMNS]);
    const a = rows.find((x) => x.common_name === 'a.example.com')!;
    expect(a).toMatchObject({
      subject: 'CN=a.example.com,O=Example\\, Inc.',
      sans: 'DNS:a.example.com;IP:2001:db8::7',
      status: 'active',
      ca_name: 'issuing',
      issuer: 'CN=Inventory CLI Issuing',
      profile: 'tls-server',
      days_left: '9',
    });
  });

  it('JSON into a file with --out; the revoked one with its reason; audited with the CLI actor', async () => {
    const out = join(tmp.dir, 'inventory.json');
    const r = pkim('cert', 'list', '--status', 'revoked', '--format', 'json', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`written: ${out}`);
    const records = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[];
    expect(records.map((x) => [x.common_name, x.status, x.revocation_reason])).toEqual([
      ['c.example.org', 'revoked', 'superseded'],
    ]);
    const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const events = await a.audit.list({ action: 'certificate.inventory_exported', order: 'asc' });
      expect(events.map((e) => [e.actor.startsWith('cli:'), e.details])).toEqual([
        [true, { format: 'csv', filter: expect.objectContaining({ caId: 'issuing', status: 'active' }) }],
        [true, { format: 'json', filter: { status: 'revoked' } }],
      ]);
    } finally {
      await a.close();
    }
  });

  it('refuses an unknown format, an unwritable --out and a missing input file with a clear error', () => {
    const bad = pkim('cert', 'list', '--format', 'xml');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("error: input.invalid: unknown format 'xml'");
    const nowhere = pkim('cert', 'list', '--format', 'csv', '--out', join(tmp.dir, 'no', 'such', 'dir.csv'));
    expect(nowhere.code).not.toBe(0);
    expect(nowhere.stderr).toMatch(/error: input\.invalid: cannot write .*: no such file or directory \(ENOENT\)\n$/);
    // a file to read that is not there: the reason in words, one line (cli-parsers.ts fileErrorReason)
    const missing = join(tmp.dir, 'missing.csr');
    const unread = pkim('cert', 'sign', '--ca', 'any', '--csr', missing);
    expect(unread.code).not.toBe(0);
    expect(unread.stderr).toBe(
      `error: input.invalid: cannot read CSR file '${missing}': no such file or directory (ENOENT)\n`,
    );
  });

  it('--json where the output is no JSON (CSV on stdout, a completion script): one-line usage error, exit 2', () => {
    const csv = pkim('cert', 'list', '--format', 'csv', '--json');
    expect(csv.code).toBe(2);
    expect(csv.stdout).toBe('');
    expect(csv.stderr).toMatch(
      /^\{"error":\{"code":"input\.invalid","message":"--json with --format csv: use --format json/,
    );
    // the CSV in a file, and a JSON answer naming it, is honoured
    const out = join(tmp.dir, 'with-json.csv');
    const written = pkim('cert', 'list', '--format', 'csv', '--out', out, '--json');
    expect(written.code, written.stderr).toBe(0);
    expect(written.json()).toEqual({ written: out });
    expect(readFileSync(out, 'utf8')).toMatch(/^id,/);
    for (const shell of ['bash', 'zsh']) {
      const r = pkim('completion', shell, '--json');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('--json: pkim completion prints a shell script, not JSON');
    }
  });
});
