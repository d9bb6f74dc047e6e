import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPkim } from '../../../tests/support/cli-in-process';
import { createRootAndIssuing } from '../../../tests/support/cli-ca-fixture';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import {
  opensslVerify,
  certtoolVerify,
  goVerify,
  opensslCrlVerify,
  opensslRaw,
} from '../../../tests/support/verifiers';

describe('pkim CLI: a small hierarchy from init to CRL', () => {
  const tmp = tempDir('pkim-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  let rootId: string;
  let intId: string;
  let leafSerial: string;
  let leafId: string;

  beforeAll(() => {
    const init = pkim('init', '--json');
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('creates a root ec-p384 CA and a name-constrained ec-p256 intermediate with path length 0', () => {
    const { root, issuing } = createRootAndIssuing(
      pkim,
      { name: 'root', subject: 'CN=Example Root CA,O=Example,C=US', keyType: 'ec-p384' },
      {
        name: 'issuing',
        subject: 'CN=Example Issuing CA,O=Example,C=US',
        keyType: 'ec-p256',
        options: ['--path-len', '0', '--permit-dns', '.example.com'],
      },
      'id',
    );
    rootId = root.id;
    intId = issuing.id;
    expect(issuing.pathLen).toBe(0);
    const list = pkim('ca', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('issuing');
    expect(list.stdout).toContain('NAME');
  });

  it('signs an openssl CSR; openssl -x509_strict, certtool and Go crypto/x509 accept the chain', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=www.example.com',
      sans: ['DNS:www.example.com'],
    });
    writeFileSync(join(tmp.dir, 'www.csr'), csrPem);
    const r = pkim(
      'cert',
      'sign',
      '--ca',
      intId,
      '--csr',
      join(tmp.dir, 'www.csr'),
      '--profile',
      'tls-server',
      '--out',
      join(tmp.dir, 'www.pem'),
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    leafSerial = r.json().serial;
    leafId = r.json().id;
    const leafPem = readFileSync(join(tmp.dir, 'www.pem'), 'utf8');
    const rootPem = pkim('ca', 'export', rootId, '--json').json().pem;
    const chain = pkim('ca', 'export', intId, '--chain', '--json').json().pem as string;
    const intPem = pkim('ca', 'export', intId, '--json').json().pem;
    expect(chain).toContain(intPem.trim());
    expect(chain).toContain(rootPem.trim());
    const o = opensslVerify({ leafPem, chainPems: [intPem], rootPem, purpose: 'sslserver' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem, chainPems: [intPem], rootPem });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem,
      intermediatesPems: [intPem],
      rootPem,
      dnsName: 'www.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
  });

  it('refuses www.other.org under that intermediate before signing: exit ≠ 0, failure audit event, no row', () => {
    const before = pkim('cert', 'list', '--json').json().items.length;
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=www.other.org', sans: ['DNS:www.other.org'] });
    writeFileSync(join(tmp.dir, 'other.csr'), csrPem);
    const r = pkim('cert', 'sign', '--ca', intId, '--csr', join(tmp.dir, 'other.csr'), '--profile', 'tls-server');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: lint\.name_constraints_violation: .*www\.other\.org/);
    expect(pkim('cert', 'list', '--json').json().items.length).toBe(before);
    const events = pkim('audit', 'list', '--limit', '1', '--json').json().items;
    expect(events[0].action).toBe('certificate.issue_failed');
    expect(events[0].details.code).toBe('lint.name_constraints_violation');
  });

  it('issues with a server-generated key into --out-key/--out-cert files', () => {
    const key = join(tmp.dir, 'api.key');
    const cert = join(tmp.dir, 'api.pem');
    const r = pkim(
      'cert',
      'issue',
      '--ca',
      'issuing',
      '--subject',
      'CN=api.example.com',
      '--san',
      'api.example.com',
      '--san',
      'ip:10.0.0.1',
      '--key-type',
      'ec-p256',
      '--out-key',
      key,
      '--out-cert',
      cert,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().privateKeyPem).toBeUndefined();
    expect(readFileSync(key, 'utf8')).toContain('PRIVATE KEY');
    expect(readFileSync(cert, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(r.json().sans).toEqual({ dns: ['api.example.com'], ip: ['10.0.0.1'] });
  });

  it('lists with CA name and days left (--wide: full serial, id, SANs); the shortened serial is a reference', () => {
    const api = pkim('cert', 'list', '--search', '10.0.0', '--json').json<{
      items: { id: string; serial: string; notAfter: string }[];
    }>().items;
    expect(api).toHaveLength(1); // found by its IP SAN
    const { id, serial, notAfter } = api[0]!;
    const days = Math.floor((Date.parse(notAfter) - Date.now()) / 86_400_000);
    const narrow = pkim('cert', 'list', '--search', 'api.example');
    expect(narrow.code, narrow.stderr).toBe(0);
    const [header, , row] = narrow.stdout.split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['SERIAL', 'CA', 'STATUS', 'DAYS LEFT', 'NAME']);
    const cells = row!.split(/\s{2,}/);
    expect(cells[0]).toBe(`${serial.slice(0, 16)}…`);
    expect(cells.slice(1, 3)).toEqual(['issuing', 'active']);
    expect(Math.abs(Number(cells[3]) - days)).toBeLessThanOrEqual(1);
    expect(cells[4]).toBe('api.example.com (+1)');
    expect(Math.max(...narrow.stdout.split('\n').map((l) => l.length))).toBeLessThan(100);
    const wide = pkim('cert', 'list', '--search', 'api.example', '--wide').stdout;
    expect(wide).toContain(id);
    expect(wide).toContain(serial);
    expect(wide).toContain('DNS:api.example.com, IP:10.0.0.1');
    // what the table shows is enough to name the certificate
    const shown = pkim('cert', 'show', cells[0]!, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json().id).toBe(id);
  });

  it('revokes the leaf with keyCompromise; openssl crl -verify accepts the generated CRL listing it', () => {
    const r = pkim('cert', 'revoke', leafSerial, '--reason', 'keyCompromise', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().status).toBe('revoked');
    // the revocation's OCSP response was signed again and stored before the command closed the database (it was
    // cut off by the close: 'OCSP re-signing after a revocation failed: The database connection is not open')
    const db = new Database(join(dataDir, 'pkim.db'), { readonly: true });
    try {
      const rows = db.prepare('select hash_alg, status_key from ocsp_responses where certificate_id = ?').all(leafId);
      expect(rows).toEqual([{ hash_alg: 'sha1', status_key: expect.stringMatching(/^revoked:\d+:1$/) as unknown }]);
    } finally {
      db.close();
    }
    const again = pkim('cert', 'revoke', leafId, '--reason', 'keyCompromise');
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/certificate\.already_revoked/);
    const crlPath = join(tmp.dir, 'int.crl');
    const g = pkim('crl', 'generate', '--ca', intId, '--out', crlPath, '--json');
    expect(g.code, g.stderr).toBe(0);
    const intPem = pkim('ca', 'export', intId, '--json').json().pem;
    const v = opensslCrlVerify(readFileSync(crlPath), intPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase()).toContain(leafSerial.replace(/^0+/, ''));
    expect(v.text).toContain('Key Compromise');
    // the audit event names the CRL's nextUpdate in ISO-8601, as every other audit time (it was epoch ms)
    const next = opensslRaw(['crl', '-inform', 'DER', '-noout', '-nextupdate', '-in', crlPath]).stdout;
    const nextUpdate = Date.parse(next.trim().replace(/^nextUpdate=/, ''));
    expect(nextUpdate).toBeGreaterThan(Date.now());
    const events = pkim('audit', 'list', '--action', 'crl.generated', '--limit', '1', '--json').json();
    const logged: unknown = events.items[0].details.nextUpdate;
    expect(logged).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // the CRL's time is in whole seconds (RFC 5280 UTCTime)
    expect(Math.floor(Date.parse(logged as string) / 1000) * 1000).toBe(nextUpdate);
    const revoked = pkim('cert', 'list', '--status', 'revoked', '--json').json();
    expect(revoked.items.map((i: { id: string }) => i.id)).toContain(leafId);
  });

  it('runs the request workflow from the command line', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=queued.example.com',
      sans: ['DNS:queued.example.com'],
    });
    writeFileSync(join(tmp.dir, 'q.csr'), csrPem);
    const s = pkim('request', 'submit', '--ca', intId, '--csr', join(tmp.dir, 'q.csr'), '--json');
    expect(s.code, s.stderr).toBe(0);
    const id = s.json().id;
    expect(pkim('request', 'list', '--status', 'pending').stdout).toContain(id);
    const a = pkim('request', 'approve', id, '--json');
    expect(a.code, a.stderr).toBe(0);
    expect(a.json().request.status).toBe('issued');
    const rej = pkim('request', 'reject', id, '--reason', 'too late');
    expect(rej.code).toBe(4);
  });

  it('lists certificates expiring within a window', () => {
    const soon = pkim('cert', 'list', '--expiring-within', '400d', '--json').json();
    expect(soon.items.length).toBeGreaterThan(0);
    const none = pkim('cert', 'list', '--expiring-within', '1d', '--json').json();
    expect(none.items.length).toBe(0);
  });

  it('rejects bad flags with a one-line reason and a non-zero exit code', () => {
    const bad = [
      ['ca', 'create', '--subject', 'CN=X', '--key-type', 'rsa-1024'],
      ['ca', 'create', '--subject', 'C=USA,CN=Bad Country'],
      ['cert', 'revoke', 'ffff', '--reason', 'because'],
      ['cert', 'show', 'crt_nope'],
      ['crl', 'generate', '--ca', 'ca_nope'],
      ['cert', 'sign', '--ca', intId, '--csr', '/nonexistent.csr'],
    ];
    for (const args of bad) {
      const r = pkim(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(/^error: [a-z_]+\.[a-z_]+: /);
    }
  });

  it('audit verify passes untouched and names the first broken event after tampering', () => {
    const ok = pkim('audit', 'verify', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    const count = ok.json().count;
    expect(count).toBeGreaterThan(5);
    expect(pkim('audit', 'verify').stdout).toContain(`${count} events verified`);
    const db = new Database(join(dataDir, 'pkim.db'));
    const target = db.prepare('select seq, id from audit_events order by seq limit 1 offset 3').get() as {
      seq: number;
      id: string;
    };
    db.prepare("update audit_events set actor = 'mallory' where seq = ?").run(target.seq);
    db.close();
    const bad = pkim('audit', 'verify');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`#${target.seq}`);
    expect(bad.stderr).toContain(target.id);
  });
});
