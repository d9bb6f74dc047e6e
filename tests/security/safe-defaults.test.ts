// Issue #11 item 3 (safe defaults) and issue #10 (defense in depth): tokens expire by default, token names are
// unique per owner, a scope the role cannot grant is refused at creation, requests are linted when submitted, and the
// authority's services check the permission of the actor they are given — not only the transports.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@pkim/authority';
import { runPkim } from '../support/cli-in-process';
import { tempDir } from '../support/openssl-tools';
import { expectPkiError } from '../support/test-kit';
import { ACTORS, csrFor, databaseDigest, openSecurityFixture, type SecurityFixture } from './security-support';

const DAY = 86_400_000;
const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('a data dir that was never initialised', () => {
  const tmp = tempDir('pkim-uninit-');
  afterAll(() => tmp.cleanup());

  it('is refused by every command but init (exit 3, one line naming the path), and nothing is created', () => {
    const typo = join(tmp.dir, 'dtaa');
    for (const args of [
      ['ca', 'list'],
      ['cert', 'list'],
      ['audit', 'verify'],
      ['token', 'list'],
    ]) {
      const r = runPkim(args, { dataDir: typo, init: false });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([
        `error: data_dir.not_initialized: '${typo}' is not an initialised PKI Manager data directory (no database ` +
          `${join(typo, 'pkim.db')}): run \`pkim init\` first, or check --data-dir, PKIM_DATA_DIR and the config file`,
      ]);
      expect(existsSync(typo)).toBe(false);
    }
    // an existing but empty directory is not initialised either, and stays empty
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect(runPkim(['ca', 'list'], { dataDir: empty, init: false }).code).toBe(3);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('pkim init creates it: directory 0700, database and master key 0600; then commands work', () => {
    const dir = join(tmp.dir, 'data');
    const init = runPkim(['init'], { dataDir: dir, init: false });
    expect(init.code, init.stderr).toBe(0);
    expect(modeOf(dir)).toBe('700');
    expect(modeOf(join(dir, 'pkim.db'))).toBe('600');
    expect(modeOf(join(dir, 'master.key'))).toBe('600');
    const list = runPkim(['ca', 'list'], { dataDir: dir, init: false });
    expect(list.code, list.stderr).toBe(0);
  });
});

describe('API tokens: safe defaults', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(() => s.close());

  it('expire after 90 days unless told otherwise; null asks explicitly for no expiry', async () => {
    const now = Date.now();
    const t = await s.authority.auth.createToken({ name: 'default-ttl', role: 'auditor' }, ACTORS.admin);
    expect(t.expiresAt).not.toBeNull();
    expect(Math.abs(t.expiresAt! - (now + 90 * DAY))).toBeLessThan(60_000);
    const never = await s.authority.auth.createToken(
      { name: 'forever', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    expect(never.expiresAt).toBeNull();
    const short = await s.authority.auth.createToken(
      { name: 'short', role: 'auditor', expiresInMs: 3_600_000 },
      ACTORS.admin,
    );
    expect(Math.abs(short.expiresAt! - (now + 3_600_000))).toBeLessThan(60_000);
  });

  it('the default comes from PKIM_TOKEN_TTL (`never` included)', async () => {
    const week = await s.fx.openSecond({ env: { PKIM_TOKEN_TTL: '7d' } });
    const t = await week.auth.createToken({ name: 'weekly', role: 'auditor' }, ACTORS.admin);
    expect(Math.abs(t.expiresAt! - (Date.now() + 7 * DAY))).toBeLessThan(60_000);
    const open = await s.fx.openSecond({ env: { PKIM_TOKEN_TTL: 'never' } });
    expect((await open.auth.createToken({ name: 'open-ended', role: 'auditor' }, ACTORS.admin)).expiresAt).toBeNull();
  });

  it('names are unique among the live tokens of one owner; a revoked token frees its name', async () => {
    const first = await s.authority.auth.createToken({ name: 'deploy', role: 'operator' }, ACTORS.admin);
    const before = databaseDigest(s);
    await expectPkiError(
      s.authority.auth.createToken({ name: ' deploy ', role: 'operator' }, ACTORS.admin),
      'token.name_taken',
    );
    expect(databaseDigest(s)).toEqual(before);
    // another owner may use the name
    const other = await s.authority.auth.createUser(
      { username: 'token-owner', password: 'a long enough password', role: 'admin' },
      ACTORS.admin,
    );
    await s.authority.auth.createToken({ name: 'deploy', role: 'operator' }, { id: other.id, role: 'admin' });
    await s.authority.auth.revokeToken(first.id, ACTORS.admin);
    await s.authority.auth.createToken({ name: 'deploy', role: 'operator' }, ACTORS.admin);
  });

  it('refuses a scope the role cannot grant when the token is created, not at its first use', async () => {
    const before = databaseDigest(s);
    const e = await expectPkiError(
      s.authority.auth.createToken(
        { name: 'impossible', role: 'requester', scopes: ['request:submit', 'certificate:issue'] },
        ACTORS.admin,
      ),
      'token.scope_not_grantable',
    );
    expect(e.message).toContain('certificate:issue');
    expect(e.message).not.toContain('request:submit');
    expect(databaseDigest(s)).toEqual(before);
    // positive control: the same scopes with a role that holds them
    await s.authority.auth.createToken(
      { name: 'possible', role: 'operator', scopes: ['request:submit', 'certificate:issue'] },
      ACTORS.admin,
    );
    await s.authority.auth.createToken({ name: 'wildcard', role: 'requester', scopes: ['request:*'] }, ACTORS.admin);
  });
});

describe('certificate requests are linted when submitted', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(() => s.close());

  it('a CSR without SANs for a TLS server profile is refused at submit (what approval would refuse)', async () => {
    const before = databaseDigest(s);
    await expectPkiError(
      s.authority.requests.submit(
        { caId: s.intId, csrPem: csrFor('Web Server', []), profile: 'tls-server' },
        ACTORS.requester,
      ),
      'lint.tls_without_san',
    );
    expect(databaseDigest(s)).toEqual(before);
    expect((await s.authority.requests.list({}, ACTORS.admin)).items).toEqual([]);
    // positive control: the same request with a SAN is accepted and approves
    const ok = await s.authority.requests.submit(
      { caId: s.intId, csrPem: csrFor('web.example.com'), profile: 'tls-server' },
      ACTORS.requester,
    );
    expect(ok.status).toBe('pending');
    const approved = await s.authority.requests.approve(ok.id, ACTORS.operator);
    expect(approved.request.status).toBe('issued');
  });
});

describe('defense in depth: services check the permission of the actor they are given', () => {
  let s: SecurityFixture;
  let certId: string;
  beforeAll(async () => {
    s = await openSecurityFixture();
    certId = (
      await s.authority.issuance.issueFromCsr(
        { caId: s.intId, csrPem: csrFor('svc.example.com'), profile: 'tls-server' },
        ACTORS.operator,
      )
    ).certificate.id;
  });
  afterAll(() => s.close());

  const calls: [string, (a: Actor) => Promise<unknown>, Actor][] = [];
  const add = (name: string, fn: (a: Actor) => Promise<unknown>, weak: Actor) => calls.push([name, fn, weak]);
  add('certificates.revoke', (a) => s.authority.certificates.revoke(certId, 'superseded', a), ACTORS.auditor);
  add('cas.setStatus', (a) => s.authority.cas.setStatus(s.intId, 'disabled', a), ACTORS.operator);
  add('cas.revokeCa', (a) => s.authority.cas.revokeCa(s.intId, 'cessationOfOperation', a), ACTORS.operator);
  add('cas.delete', (a) => s.authority.cas.delete(s.intId, {}, a), ACTORS.operator);
  add('crl.generate', (a) => s.authority.crl.generate(s.intId, a), ACTORS.auditor);
  add(
    'requests.submit',
    (a) => s.authority.requests.submit({ caId: s.intId, csrPem: csrFor('q.example.com'), profile: 'tls-server' }, a),
    ACTORS.auditor,
  );
  add('requests.list', (a) => s.authority.requests.list({}, a), { id: 'tok_x', role: 'operator', scopes: ['ca:read'] });
  add(
    'issuance.issueFromCsr',
    (a) =>
      s.authority.issuance.issueFromCsr({ caId: s.intId, csrPem: csrFor('x.example.com'), profile: 'tls-server' }, a),
    ACTORS.requester,
  );

  it('an under-privileged actor calling a service directly is refused and changes nothing', async () => {
    for (const [name, fn, weak] of calls) {
      const before = databaseDigest(s);
      const e = await expectPkiError(fn(weak), 'auth.forbidden');
      expect(e.message, name).toMatch(/is not allowed/);
      expect(databaseDigest(s), name).toEqual(before);
    }
  });

  it('positive control: the same calls with a privileged actor succeed', async () => {
    await s.authority.requests.list({}, ACTORS.auditor);
    await s.authority.crl.generate(s.intId, ACTORS.admin);
    await s.authority.certificates.revoke(certId, 'superseded', ACTORS.operator);
    await s.authority.cas.setStatus(s.intId, 'disabled', ACTORS.admin);
    await s.authority.cas.setStatus(s.intId, 'active', ACTORS.admin);
    await s.authority.cas.revokeCa(s.intId, 'cessationOfOperation', ACTORS.admin);
  });
});
