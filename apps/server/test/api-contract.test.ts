// The output contract (docs/api-contract.md): the same operations through the CLI (`--json`), REST and tRPC give
// the same objects — same field names, RFC 3339 times, lowercase hex serials, lists as { items, nextCursor }, one
// object with its PEM beside it, errors as { error: { code, message } }. The walk of every read is in
// api-contract-reads-1/-2.test.ts (one half of the GET twins each), the kit in api-contract-support.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import {
  auditEventSchema,
  caSchema,
  caViewSchema,
  certificateDetailSchema,
  certificateSchema,
  dashboardSchema,
  issuedCertificateSchema,
  requestSchema,
} from '@pkim/contract';
import { ACTORS } from './server-test-support';
import { contractKit } from './api-contract-support';
import { opensslVerify } from '../../../tests/support/verifiers';
import { RFC3339 } from '../../../tests/support/output-contract';

const keysOf = (o: object) => Object.keys(o).sort();
const shapeKeys = (s: { shape: object }) => Object.keys(s.shape).sort();

// every test spawns the CLI several times: generous time on a loaded 2-core machine
describe('one output contract across CLI --json, REST and tRPC', { timeout: 180_000 }, () => {
  const kit = contractKit();
  const { cli, cliJson, rest, trpc, csrFile } = kit;
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it('ca list: { items, nextCursor } with the same CA objects everywhere', async () => {
    const viaCli = await cliJson('ca', 'list');
    const viaRest = await rest('GET', '/cas');
    const viaTrpc = await trpc('ca.list');
    expect(viaRest.status).toBe(200);
    for (const page of [viaCli, viaRest.body, viaTrpc.data]) {
      expect(keysOf(page!)).toEqual(['items', 'nextCursor']);
      const items = (page as { items: Record<string, unknown>[] }).items;
      expect(items).toHaveLength(2);
      for (const ca of items) {
        expect(keysOf(ca)).toEqual(shapeKeys(caSchema));
        expect(ca.notAfter).toMatch(RFC3339);
        expect(ca.createdAt).toMatch(RFC3339);
        expect(ca.serial).toMatch(/^[0-9a-f]+$/);
      }
    }
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('ca list --expiring-within = REST ?expiringWithin= = tRPC; a bad duration 400 input.invalid', async () => {
    // the kit's root (10 years) ends after its issuing CA (5 years): 2000 days list the issuing CA only
    const viaCli = await cliJson('ca', 'list', '--expiring-within', '2000d');
    const viaRest = await rest('GET', '/cas?expiringWithin=2000d');
    const viaTrpc = await trpc('ca.list', { expiringWithin: '48000h' });
    expect(viaRest.status).toBe(200);
    expect((viaCli as { items: { name: string }[] }).items.map((c) => c.name)).toEqual(['contract-issuing']);
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
    const bad = await rest('GET', '/cas?expiringWithin=soon');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'input.invalid',
      message: expect.stringMatching(/^expiringWithin: /),
    });
    const badTrpc = await trpc('ca.list', { expiringWithin: '0d' });
    expect(badTrpc.status).toBe(400);
    expect((badTrpc.error?.data as { error: unknown }).error).toMatchObject({ code: 'input.invalid' });
  });

  it('cert list --expiring-within = REST ?expiringWithin= = tRPC; with expiringWithinDays too: 400', async () => {
    const viaCli = await cliJson('cert', 'list', '--expiring-within', '36500d');
    const viaRest = await rest('GET', '/certificates?expiringWithin=36500d');
    const viaTrpc = await trpc('certificate.list', { expiringWithin: '876000h' });
    expect(viaRest.status).toBe(200);
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
    // the first version's name answers the same
    expect((await rest('GET', '/certificates?expiringWithinDays=36500')).body).toEqual(viaCli);
    const both = await rest('GET', '/certificates?expiringWithin=30d&expiringWithinDays=30');
    expect(both.status).toBe(400);
    expect(both.body.error).toMatchObject({ code: 'input.invalid' });
  });

  it('one CA: the object with certificatePem and chainPem beside it, identical on the three', async () => {
    const viaCli = await cliJson('ca', 'show', 'contract-issuing');
    const viaRest = await rest('GET', '/cas/contract-issuing');
    const viaTrpc = await trpc('ca.get', { ref: 'contract-issuing' });
    // an active CA: no `csr` (only a pending, external one has it)
    expect(keysOf(viaCli)).toEqual(shapeKeys(caViewSchema.omit({ csr: true })));
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('ca set-leaf-not-after = REST PUT /cas/:id/leaf-not-after = tRPC: the CA; a bad value: no change', async () => {
    const viaCli = await cliJson('ca', 'set-leaf-not-after', 'contract-issuing', 'truncate');
    expect(viaCli.leafNotAfterBehavior).toBe('truncate');
    expect(keysOf(viaCli)).toEqual(shapeKeys(caSchema));
    // the same value again changes nothing (the same object, updatedAt too)
    const viaRest = await rest('PUT', '/cas/contract-issuing/leaf-not-after', { behavior: 'truncate' });
    const viaTrpc = await trpc('ca.setLeafNotAfterBehavior', { ref: 'contract-issuing', behavior: 'truncate' }, true);
    expect(viaRest.status).toBe(200);
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
    const bad = await rest('PUT', '/cas/contract-issuing/leaf-not-after', { behavior: 'forever' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'input.invalid' });
    const badTrpc = await trpc('ca.setLeafNotAfterBehavior', { ref: 'contract-issuing', behavior: 'Err' }, true);
    expect(badTrpc.status).toBe(400);
    expect((badTrpc.error?.data as { error: unknown }).error).toMatchObject({ code: 'input.invalid' });
    expect((await cliJson('ca', 'show', 'contract-issuing')).leafNotAfterBehavior).toBe('truncate');
    const back = await rest('PUT', '/cas/contract-issuing/leaf-not-after', { behavior: 'err' });
    expect(back.body).toMatchObject({ leafNotAfterBehavior: 'err' });
    expect((await trpc('ca.get', { ref: 'contract-issuing' })).data).toMatchObject({ leafNotAfterBehavior: 'err' });
  });

  it('signing a CSR with { ca, csr, profile, ttl }: the same certificate (+ PEM and chain) on the three', async () => {
    const a = csrFile('cli.contract.example');
    const b = csrFile('rest.contract.example');
    const c = csrFile('trpc.contract.example');
    const viaCli = await cliJson('cert', 'sign', '--ca', 'contract-issuing', '--csr', a.file, '--ttl', '30d');
    const viaRest = await rest('POST', '/cas/contract-issuing/sign', {
      csr: b.csrPem,
      profile: 'tls-server',
      ttl: '30d',
    });
    const viaTrpc = await trpc(
      'certificate.issue',
      { ca: 'contract-issuing', csr: c.csrPem, profile: 'tls-server', ttl: 30 * 86_400 },
      true,
    );
    expect(viaRest.status).toBe(201);
    const issuedKeys = shapeKeys(issuedCertificateSchema).filter((k) => k !== 'privateKeyPem');
    // the CLI adds the files it wrote, REST the PEMs under the first version's names
    expect(keysOf(viaCli).filter((k) => k !== 'written')).toEqual(issuedKeys);
    expect(keysOf(viaRest.body).filter((k) => k !== 'certificate' && k !== 'chain')).toEqual(issuedKeys);
    expect(keysOf(viaTrpc.data!)).toEqual(issuedKeys);
    const lifetimes: number[] = [];
    for (const issued of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(issued.id).toMatch(/^crt_/);
      expect(issued.serial).toMatch(/^[0-9a-f]{30,40}$/);
      expect(issued.notBefore).toMatch(RFC3339);
      // ttl 30d (CLI, REST) and 2592000 seconds (tRPC): the same lifetime (notBefore is back-dated a little)
      lifetimes.push(Date.parse(issued.notAfter as string) - Date.parse(issued.notBefore as string));
      const v = opensslVerify({
        leafPem: issued.certificatePem as string,
        chainPems: [issued.chainPem as string],
        rootPem: kit.rootPem,
        purpose: 'sslserver',
      });
      expect(v.ok, v.output).toBe(true);
    }
    expect(new Set(lifetimes).size).toBe(1);
    expect(lifetimes[0]! - 30 * 86_400_000).toBeGreaterThanOrEqual(0);
    expect(lifetimes[0]! - 30 * 86_400_000).toBeLessThanOrEqual(10 * 60_000);
    expect(viaRest.body.certificate).toBe(viaRest.body.certificatePem);

    // the same certificate read back through the three is one object
    const ref = viaRest.body.serial as string;
    const showCli = await cliJson('cert', 'show', ref);
    const showRest = await rest('GET', `/certificates/${ref}`);
    const showTrpc = await trpc('certificate.get', { ref });
    expect(keysOf(showCli)).toEqual(shapeKeys(certificateDetailSchema));
    expect(showRest.body).toEqual(showCli);
    expect(showTrpc.data).toEqual(showCli);
  });

  it('certificate list sort=revoked_desc: the revoked ones, the latest revocation first; REST = tRPC', async () => {
    const active = (await rest('GET', '/certificates?ca=contract-issuing&status=active&limit=2')).body.items as {
      serial: string;
    }[];
    expect(active).toHaveLength(2);
    for (const c of active) {
      const r = await rest('POST', `/certificates/${c.serial}/revoke`, { reason: 'superseded' });
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    }
    const viaRest = await rest('GET', '/certificates?sort=revoked_desc&limit=100');
    const viaTrpc = await trpc('certificate.list', { sort: 'revoked_desc', limit: 100 });
    expect(viaRest.status).toBe(200);
    expect(viaTrpc.data).toEqual(viaRest.body);
    const items = viaRest.body.items as { serial: string; status: string; revokedAt: string }[];
    expect(items.map((c) => c.status)).toEqual(items.map(() => 'revoked'));
    expect(items.map((c) => c.serial)).toEqual(expect.arrayContaining(active.map((c) => c.serial)));
    const times = items.map((c) => Date.parse(c.revokedAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    // another value is refused, as before
    expect((await rest('GET', '/certificates?sort=revoked_asc')).status).toBe(400);
  });

  it('certificate list: { items, nextCursor } with the same items', async () => {
    const viaCli = await cliJson('cert', 'list', '--ca', 'contract-issuing', '--limit', '2');
    const viaRest = await rest('GET', '/certificates?ca=contract-issuing&limit=2');
    const viaTrpc = await trpc('certificate.list', { ca: 'contract-issuing', limit: 2 });
    expect(keysOf(viaCli)).toEqual(['items', 'nextCursor']);
    const items = viaCli.items as Record<string, unknown>[];
    expect(items).toHaveLength(2);
    expect(typeof viaCli.nextCursor).toBe('string');
    for (const c of items) expect(keysOf(c)).toEqual(shapeKeys(certificateSchema));
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('request submit: { ca, csr, profile, ttl } → the same request object on the three', async () => {
    const a = csrFile('req-cli.contract.example');
    const b = csrFile('req-rest.contract.example');
    const c = csrFile('req-trpc.contract.example');
    const viaCli = await cliJson('request', 'submit', '--ca', 'contract-issuing', '--csr', a.file, '--ttl', '10d');
    const viaRest = await rest('POST', '/requests', { ca: 'contract-issuing', csr: b.csrPem, ttl: '10d' });
    const viaTrpc = await trpc('request.submit', { ca: 'contract-issuing', csr: c.csrPem, ttl: 864_000 }, true);
    expect(viaRest.status).toBe(201);
    for (const r of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(keysOf(r)).toEqual(shapeKeys(requestSchema));
      expect(r).toMatchObject({ status: 'pending', profile: 'tls-server', ttl: '10d' });
      expect(r.createdAt).toMatch(RFC3339);
    }
    const id = viaRest.body.id as string;
    const shown = await cliJson('request', 'show', id);
    expect(shown.id).toBe(id);
    expect((await rest('GET', `/requests/${id}`)).body).toEqual(shown);
    expect((await trpc('request.get', { id })).data).toEqual(shown);
  });

  it('token create and login: expiresAt RFC 3339, a token limit maxLifetime a duration on the three', async () => {
    const viaCli = await cliJson('token', 'create', '--name', 'c-cli', '--role', 'operator', '--max-lifetime', '30d');
    const viaRest = await rest('POST', '/tokens', {
      name: 'c-rest',
      role: 'operator',
      expiresIn: '30d',
      resources: { maxLifetime: '30d' },
    });
    expect(viaRest.status).toBe(201);
    // the first version's maxLifetimeMs is still accepted on input, and answered as a duration
    const viaTrpc = await trpc(
      'token.create',
      { name: 'c-trpc', role: 'operator', resources: { maxLifetimeMs: 30 * 86_400_000 } },
      true,
    );
    expect(viaTrpc.status, JSON.stringify(viaTrpc.error)).toBe(200);
    for (const t of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(t.expiresAt).toMatch(RFC3339);
      // the default lifetime of a token: 90 days
      expect(Date.parse(t.expiresAt as string) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    }
    expect(keysOf(viaRest.body)).toEqual(['expiresAt', 'id', 'token']);
    expect(keysOf(viaCli)).toEqual(['expiresAt', 'id', 'role', 'token']);
    const listed = (await rest('GET', '/tokens')).body.items as { name: string; resources: unknown }[];
    for (const name of ['c-cli', 'c-rest', 'c-trpc'])
      expect(listed.find((t) => t.name === name)?.resources, name).toEqual({ maxLifetime: '30d' });
    const both = await rest('POST', '/tokens', {
      name: 'c-both',
      role: 'operator',
      resources: { maxLifetime: '30d', maxLifetimeMs: 1000 },
    });
    expect(both.status).toBe(400);
    // the console's login answer: the session's end as RFC 3339
    const login = await fetch(`${kit.base}/trpc/user.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'contract-login', password: 'contract-password-1' }),
    });
    const answer = ((await login.json()) as { result: { data: { expiresAt: unknown } } }).result.data;
    expect(answer.expiresAt).toMatch(RFC3339);
    expect(Date.parse(answer.expiresAt as string)).toBeGreaterThan(Date.now());
  });

  it('token and user lists: the contract objects on the three transports, never a secret or a hash', async () => {
    const created = await kit.fx.authority.auth.createToken({ name: 'contract-secret', role: 'auditor' }, ACTORS.admin);
    const db = new Database(join(kit.fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
    const secrets = [
      created.token,
      kit.token,
      ...db
        .prepare('SELECT token_hash AS h FROM api_tokens')
        .all()
        .map((r) => (r as { h: string }).h),
      ...db
        .prepare('SELECT password_hash AS h FROM users')
        .all()
        .map((r) => (r as { h: string }).h),
    ];
    db.close();
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    for (const [what, cmd, path, proc] of [
      ['tokens', ['token', 'list'], '/tokens', 'token.list'],
      ['users', ['user', 'list'], '/users', 'user.list'],
    ] as const) {
      const answers = [await cliJson(...cmd), (await rest('GET', path)).body, (await trpc(proc)).data];
      for (const page of answers) {
        const text = JSON.stringify(page);
        for (const secret of secrets) expect(text, what).not.toContain(secret);
        // the `mustChangePassword` flag (a boolean) is no password
        expect(text.replaceAll('"mustChangePassword":', ''), what).not.toMatch(/hash|password|scrypt|pkim_/i);
        const items = (page as { items: Record<string, unknown>[] }).items;
        expect(items.length, what).toBeGreaterThanOrEqual(1);
        expect(keysOf(items[0]!), what).toEqual(
          what === 'tokens'
            ? ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'resources', 'revokedAt', 'role', 'scopes']
            : [
                'createdAt',
                'disabled',
                'id',
                'lockedAddresses',
                'lockedUntil',
                'mustChangePassword',
                'role',
                'username',
              ],
        );
      }
    }
  });

  it("audit list: each event names its actor (actorName: a user's username, else null) on the three", async () => {
    const a = kit.fx.authority;
    const user = await a.auth.createUser(
      { username: 'contract-actor', password: 'contract-password-1', role: 'auditor' },
      ACTORS.admin,
    );
    await a.audit.record({ actor: user.id, action: 'contract.named', target: null });
    const viaCli = await cliJson('audit', 'list', '--limit', '2');
    const viaRest = await rest('GET', '/audit/events?limit=2');
    const viaTrpc = await trpc('audit.list', { limit: 2 });
    expect(viaRest.status).toBe(200);
    for (const page of [viaCli, viaRest.body, viaTrpc.data]) {
      const [named, other] = (page as { items: Record<string, unknown>[] }).items;
      expect(keysOf(named!)).toEqual(shapeKeys(auditEventSchema));
      expect(named).toMatchObject({ action: 'contract.named', actor: user.id, actorName: 'contract-actor' });
      // the user's creation: by an actor that is no user of this database (its id, no name)
      expect(other).toMatchObject({ action: 'user.created', actor: ACTORS.admin.id, actorName: null });
    }
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('dashboard: pkim dashboard --json is insights.dashboard on REST and tRPC (its warnings too)', async () => {
    const viaCli = await cliJson('dashboard');
    const viaRest = await rest('GET', '/insights/dashboard');
    const viaTrpc = await trpc('insights.dashboard');
    expect(viaRest.status).toBe(200);
    // the time each was made aside, the same object
    const made = ({ generatedAt, ...rest }: Record<string, unknown>) => {
      expect(generatedAt).toMatch(RFC3339);
      return rest;
    };
    expect(keysOf(viaCli)).toEqual(shapeKeys(dashboardSchema));
    expect(made(viaCli).warnings).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'ca.no_urls', level: 'warning' })]),
    );
    expect(made(viaRest.body)).toEqual(made(viaCli));
    expect(made(viaTrpc.data!)).toEqual(made(viaCli));
  });

  it('errors: { error: { code, message } } — CLI --json on stderr, REST body, tRPC error data', async () => {
    const c = await cli('ca', 'show', 'no-such-ca', '--json');
    expect(c.code).toBe(3);
    expect(c.stdout).toBe('');
    const cliError = JSON.parse(c.stderr) as { error: { code: string; message: string } };
    expect(cliError.error.code).toBe('ca.not_found');
    const r = await rest('GET', '/cas/no-such-ca');
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual(cliError.error);
    const t = await trpc('ca.get', { ref: 'no-such-ca' });
    expect(t.status).toBe(404);
    expect((t.error?.data as { error: unknown }).error).toEqual(cliError.error);

    // input errors carry the same code everywhere and name the field (the message, and the details' issues); a CSR
    // field that is no CSR is csr.invalid in the authority's words alone, as the CLI says it locally (41c3a7b)
    const pemLike = '-----BEGIN CERTIFICATE REQUEST-----\n';
    for (const [input, code, field, start] of [
      [{ ca: 'contract-issuing', csr: pemLike, ttl: 'soon' }, 'input.invalid', 'ttl', 'ttl: '],
      [{ ca: 'contract-issuing', csr: 'x' }, 'csr.invalid', 'csr', 'not a CSR: no PEM block found'],
    ] as const) {
      const viaRest = await rest('POST', '/requests', input);
      expect(viaRest.status).toBe(400);
      const restError = viaRest.body.error as { code: string; message: string };
      expect(restError).toMatchObject({
        code,
        message: expect.stringMatching(new RegExp(`^${start}`)),
        details: { issues: expect.arrayContaining([expect.objectContaining({ path: field })]) },
      });
      const viaTrpc = await trpc('request.submit', input, true);
      const trpcError = (viaTrpc.error?.data as { error: { code: string; message: string } }).error;
      expect({ code: trpcError.code, message: trpcError.message }).toEqual({
        code: restError.code,
        message: restError.message,
      });
    }
  });
});
