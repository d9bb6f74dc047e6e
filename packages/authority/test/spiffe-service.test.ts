import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { fixedClock } from '@pkim/shared';
import {
  BUILT_IN_PROFILES,
  assembleCertificate,
  encodeTbsCertificate,
  fromPem,
  generateSerial,
  parseCertificate,
  planCertificate,
  toPem,
} from '@pkim/core';
import { createAuthority, SERVICE_TYPES, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { goVerify, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { internalsOf } from '@pkim/authority/internals';
import {
  heldSvidKeptByTheOldCa,
  heldSvidSignedAgainByTheNewCa,
  twoRotationsAnswerRetryable,
} from './fixtures/spiffe-rotation-race';

const H = 3_600_000;
const DAY = 24 * H;

async function newAuthority(clock = fixedClock(Date.now())) {
  const tmp = tempDir('pkim-spiffe-');
  const authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, ephemeral: true });
  return { authority, clock, tmp };
}

let tokens = 0;
async function workloadToken(a: Authority, allow?: string[]): Promise<string> {
  const t = await a.auth.createToken(
    {
      name: `workloads-${++tokens}`,
      role: 'operator',
      scopes: ['spiffe:sign'],
      resources: allow ? { spiffe: allow } : undefined,
    },
    TEST_ADMIN,
  );
  return t.token;
}

type SpiffeInit = Awaited<ReturnType<Authority['spiffe']['init']>>;
/**
 * A describe block's SPIFFE authority: created (ephemeral, on `clock`) and initialised for TD before its tests, with a
 * workload token, closed after them; `ready` receives it.
 */
function spiffeAuthority(
  clock: ReturnType<typeof fixedClock>,
  ready: (x: { authority: Authority; init: SpiffeInit; token: string }) => void,
) {
  let close: () => Promise<void> = () => Promise.resolve();
  beforeAll(async () => {
    const { authority, tmp } = await newAuthority(clock);
    close = async () => {
      await authority.close();
      tmp.cleanup();
    };
    const init = await authority.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    ready({ authority, init, token: await workloadToken(authority) });
  });
  afterAll(() => close());
}

describe('SPIFFE workload identity (authority)', () => {
  let a: Authority;
  let token: string;
  const clock = fixedClock(Date.now());
  spiffeAuthority(clock, (x) => ({ authority: a, token } = x));

  it('initialises root (P-384, 10 years, pathLen 1), services and transport CA once; init is idempotent', async () => {
    const again = await a.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    expect(again.created).toEqual([]);
    const root = await a.cas.get(again.rootCaId);
    const rootInfo = parseCertificate(root.certificatePem!);
    expect(root.ca.keyType).toBe('ec-p384');
    expect(rootInfo.pathLen).toBe(1);
    expect(Math.round((rootInfo.notAfter - rootInfo.notBefore) / (365 * DAY))).toBe(10);
    const transport = parseCertificate((await a.cas.get(again.transportCaId)).certificatePem!);
    const services = parseCertificate((await a.cas.get(again.servicesCaId)).certificatePem!);
    // in the certificates: the RFC 5280 (host) part; the path split is a linter policy (see docs/spiffe.md)
    expect(transport.nameConstraints).toEqual({ permittedUri: [TD] });
    expect(services.nameConstraints).toEqual({ permittedUri: [TD] });
    expect(transport.pathLen).toBe(0);
    await expectPkiError(a.spiffe.init({ trustDomain: 'other.org' }, TEST_ADMIN), 'spiffe.trust_domain_mismatch');
    const status = await a.spiffe.status(TEST_ADMIN);
    expect(status).toMatchObject({ status: 'healthy', trustDomain: TD, warnings: [] });
  });

  it.each(SERVICE_TYPES)(
    'issues a %s SVID that openssl and Go verify against the bundle, with its EKUs',
    async (type) => {
      const id = spiffeIdFor(type, 'i-1');
      const r = await a.spiffe.sign(
        { csrPem: svidCsr(id).csrPem, serviceType: type, instanceId: 'i-1' },
        { bearerToken: token },
      );
      const bundle = await a.spiffe.bundle();
      const plane = type.startsWith('envoy/') ? bundle.transportBundle : bundle.servicesBundle;
      const rootPem = plane[plane.length - 1]!;
      expect(r.chain).toHaveLength(1);
      expect(plane).toContain(r.chain[0]);
      const info = parseCertificate(r.certificatePem);
      expect(info.sans).toEqual({ uri: [id] });
      const ekus = type === 'gateway' ? ['serverAuth'] : ['serverAuth', 'clientAuth'];
      expect(info.extKeyUsage).toEqual(ekus);
      for (const purpose of ['serverAuth', 'clientAuth'] as const) {
        const expected = ekus.includes(purpose);
        const o = opensslVerify({
          leafPem: r.certificatePem,
          chainPems: r.chain,
          rootPem,
          purpose: purpose === 'serverAuth' ? 'sslserver' : 'sslclient',
        });
        expect(o.ok, `openssl ${purpose}: ${o.output}`).toBe(expected);
        const g = goVerify({ leafPem: r.certificatePem, intermediatesPems: r.chain, rootPem, keyUsage: purpose });
        expect(g.ok, `go ${purpose}: ${g.output}`).toBe(expected);
      }
      // the other plane's intermediate does not chain it
      const other = type.startsWith('envoy/') ? bundle.servicesBundle : bundle.transportBundle;
      expect(opensslVerify({ leafPem: r.certificatePem, chainPems: other.slice(0, -1), rootPem }).ok).toBe(false);
    },
  );

  it('answers with the wire shape: renewAfter halfway, base64url fingerprint, hex serial, 1 h default', async () => {
    const id = spiffeIdFor('node', 'half');
    const r = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'half' },
      { bearerToken: token },
    );
    const x = new X509Certificate(r.certificatePem);
    const notBefore = Date.parse(x.validFrom);
    const notAfter = Date.parse(x.validTo);
    expect(Date.parse(r.expiresAt)).toBe(notAfter);
    expect(Date.parse(r.renewAfter)).toBe(notBefore + (notAfter - notBefore) / 2);
    expect(notAfter - Math.floor(clock.now() / 1000) * 1000).toBe(H);
    expect(r.serial).toBe(x.serialNumber.toLowerCase());
    expect(Buffer.from(r.fingerprint, 'base64url').toString('hex')).toBe(
      x.fingerprint256.replace(/:/g, '').toLowerCase(),
    );
    const ttl = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'half', ttlSeconds: 86_400 },
      { bearerToken: token },
    );
    expect(Date.parse(ttl.expiresAt) - Math.floor(clock.now() / 1000) * 1000).toBe(24 * H);
  });

  it('marks the previous SVID of an identity superseded on renewal, over mTLS with the current SVID', async () => {
    const id = spiffeIdFor('auth', 'renew-me');
    const first = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'auth', instanceId: 'renew-me' },
      { bearerToken: token },
    );
    const second = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'auth', instanceId: 'renew-me' },
      { clientCertificate: fromPem(first.certificatePem, 'CERTIFICATE') },
    );
    const listed = await a.spiffe.list({ spiffeId: id }, TEST_ADMIN);
    expect(listed.items.map((i) => [i.serial, i.state])).toEqual([
      [second.serial, 'current'],
      [first.serial, 'superseded'],
    ]);
    const [issued] = await a.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(issued!.actor).toMatch(/^svid:crt_/);
    expect(issued!.details.provisioner).toEqual({ kind: 'spiffe', id: `spiffe:${TD}`, name: `SPIFFE ${TD}` });
    // a renewing SVID can only renew its own identity
    const otherId = spiffeIdFor('auth', 'someone-else');
    await expectPkiError(
      a.spiffe.sign(
        { csrPem: svidCsr(otherId).csrPem, serviceType: 'auth', instanceId: 'someone-else' },
        { clientCertificate: fromPem(second.certificatePem, 'CERTIFICATE') },
      ),
      'spiffe.identity_not_allowed',
    );
    // a revoked SVID cannot renew
    await a.certificates.revoke(second.serial, 'keyCompromise', TEST_ADMIN);
    await expectPkiError(
      a.spiffe.sign(
        { csrPem: svidCsr(id).csrPem, serviceType: 'auth', instanceId: 'renew-me' },
        { clientCertificate: fromPem(second.certificatePem, 'CERTIFICATE') },
      ),
      'spiffe.svid_revoked',
    );
  });

  it('refuses bad requests with stable codes, each audited as spiffe.sign_failed, and issues nothing', async () => {
    const narrow = await workloadToken(a, ['node/worker-*']);
    const noScope = (
      await a.auth.createToken({ name: 'reader', role: 'operator', scopes: ['certificate:read'] }, TEST_ADMIN)
    ).token;
    const ok = (type: string, inst: string) => svidCsr(spiffeIdFor(type, inst)).csrPem;
    const cases: [string, unknown, Parameters<Authority['spiffe']['sign']>[1]][] = [
      [
        'spiffe.identity_mismatch',
        { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'b' },
        { bearerToken: token },
      ],
      [
        'spiffe.identity_mismatch',
        {
          csrPem: svidCsr(spiffeIdFor('node', 'a'), { dns: ['a.example.org'] }).csrPem,
          serviceType: 'node',
          instanceId: 'a',
        },
        { bearerToken: token },
      ],
      [
        'spiffe.identity_mismatch',
        {
          csrPem: svidCsr([spiffeIdFor('node', 'a'), spiffeIdFor('node', 'b')]).csrPem,
          serviceType: 'node',
          instanceId: 'a',
        },
        { bearerToken: token },
      ],
      [
        'spiffe.unknown_service_type',
        { csrPem: ok('node', 'a'), serviceType: 'database', instanceId: 'a' },
        { bearerToken: token },
      ],
      [
        'spiffe.key_type_not_allowed',
        {
          csrPem: svidCsr(spiffeIdFor('node', 'a'), { keyType: 'ec-p256' }).csrPem,
          serviceType: 'node',
          instanceId: 'a',
        },
        { bearerToken: token },
      ],
      [
        'spiffe.ttl_exceeded',
        { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'a', ttlSeconds: 86_401 },
        { bearerToken: token },
      ],
      [
        'spiffe.identity_not_allowed',
        { csrPem: ok('node', 'db-1'), serviceType: 'node', instanceId: 'db-1' },
        { bearerToken: narrow },
      ],
      ['auth.unauthenticated', { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'a' }, {}],
      [
        'auth.unauthenticated',
        { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'a' },
        { bearerToken: 'pkim_nope' },
      ],
      ['auth.forbidden', { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'a' }, { bearerToken: noScope }],
      ['input.invalid', { csrPem: ok('node', 'a'), serviceType: 'node' }, { bearerToken: token }],
      ['csr.invalid', { csrPem: 'not a csr', serviceType: 'node', instanceId: 'a' }, { bearerToken: token }],
      [
        'spiffe.invalid_id',
        { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: '../x' },
        { bearerToken: token },
      ],
    ];
    await a.spiffe.deny({ spiffeId: spiffeIdFor('node', 'bad'), reason: 'compromised host' }, TEST_ADMIN);
    cases.push([
      'spiffe.identity_denied',
      { csrPem: ok('node', 'bad'), serviceType: 'node', instanceId: 'bad' },
      { bearerToken: token },
    ]);
    const issuedBefore = (await internalsOf(a).store.certificates.countByStatus()).active;
    for (const [code, body, cred] of cases) {
      const e = await expectPkiError(a.spiffe.sign(body, cred), code);
      const [event] = await a.audit.list({ action: 'spiffe.sign_failed', order: 'desc', limit: 1 });
      expect(event!.details.code, `${code}: ${e.message}`).toBe(code);
      expect(event!.outcome).toBe('failure');
    }
    expect((await internalsOf(a).store.certificates.countByStatus()).active).toBe(issuedBefore);
    // the narrow token gets what its pattern allows
    const w = await a.spiffe.sign(
      { csrPem: ok('node', 'worker-7'), serviceType: 'node', instanceId: 'worker-7' },
      { bearerToken: narrow },
    );
    expect(w.spiffeId).toBe(spiffeIdFor('node', 'worker-7'));
  });

  it('keeps a deny list: deny names the still-valid SVIDs (passive revocation), allow lifts it', async () => {
    const id = spiffeIdFor('orchestrator', 'o-1');
    const r = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'orchestrator', instanceId: 'o-1' },
      { bearerToken: token },
    );
    const d = await a.spiffe.deny({ spiffeId: id, reason: 'decommissioned' }, TEST_ADMIN);
    expect(d.currentCertificates).toEqual([{ serial: r.serial, expiresAt: r.expiresAt }]);
    expect((await a.spiffe.listDenied(TEST_ADMIN)).map((x) => x.spiffeId)).toContain(id);
    await expectPkiError(
      a.spiffe.sign(
        { csrPem: svidCsr(id).csrPem, serviceType: 'orchestrator', instanceId: 'o-1' },
        { clientCertificate: fromPem(r.certificatePem, 'CERTIFICATE') },
      ),
      'spiffe.identity_denied',
    );
    expect(await a.spiffe.allow({ spiffeId: id }, TEST_ADMIN)).toEqual({ spiffeId: id, wasDenied: true });
    await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'orchestrator', instanceId: 'o-1' },
      { bearerToken: token },
    );
    await expectPkiError(
      a.spiffe.deny({ spiffeId: 'spiffe://other.org/node/x', reason: 'x' }, TEST_ADMIN),
      'spiffe.invalid_id',
    );
    expect((await a.audit.list({ action: 'spiffe.identity_denied', target: id })).length).toBe(1);
  });

  it('is admin-only for management', async () => {
    const operator = { id: 'usr_op', role: 'operator' as const };
    await expectPkiError(a.spiffe.status(operator), 'auth.forbidden');
    await expectPkiError(
      a.spiffe.deny({ spiffeId: spiffeIdFor('node', 'x'), reason: 'x' }, operator),
      'auth.forbidden',
    );
    await expectPkiError(a.spiffe.rotate({ role: 'services' }, operator), 'auth.forbidden');
    await expectPkiError(a.spiffe.purge(operator), 'auth.forbidden');
  });
});

describe('SPIFFE before initialisation', () => {
  it('answers spiffe.not_initialized for the bundle and signing, and status says uninitialized', async () => {
    const { authority, tmp } = await newAuthority();
    try {
      await expectPkiError(authority.spiffe.bundle(), 'spiffe.not_initialized');
      const token = await workloadToken(authority);
      const id = spiffeIdFor('node', 'n');
      await expectPkiError(
        authority.spiffe.sign(
          { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'n' },
          { bearerToken: token },
        ),
        'spiffe.not_initialized',
      );
      expect((await authority.spiffe.status(TEST_ADMIN)).status).toBe('uninitialized');
      await expectPkiError(
        authority.spiffe.init({ trustDomain: 'Bad_Domain!' }, TEST_ADMIN),
        'spiffe.invalid_trust_domain',
      );
    } finally {
      await authority.close();
      tmp.cleanup();
    }
  });
});

describe('SPIFFE over time (injected clock)', () => {
  let a: Authority;
  let token: string;
  const t0 = Date.now();
  const clock = fixedClock(t0);
  spiffeAuthority(clock, (x) => ({ authority: a, token } = x));

  it('refuses an expired SVID for renewal and counts it expired', async () => {
    clock.set(t0);
    const id = spiffeIdFor('node', 'short');
    const r = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'short', ttlSeconds: 600 },
      { bearerToken: token },
    );
    clock.set(Date.parse(r.expiresAt) + 1000);
    await expectPkiError(
      a.spiffe.sign(
        { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'short' },
        { clientCertificate: fromPem(r.certificatePem, 'CERTIFICATE') },
      ),
      'spiffe.svid_invalid',
    );
    expect((await a.spiffe.status(TEST_ADMIN)).expiredCertCount).toBeGreaterThanOrEqual(1);
  });

  it('purges SVIDs 24 h after expiry, not before', async () => {
    clock.set(t0 + DAY);
    const id = spiffeIdFor('gateway', 'gw');
    const r = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'gateway', instanceId: 'gw' },
      { bearerToken: token },
    );
    const expires = Date.parse(r.expiresAt);
    clock.set(expires + DAY - 1000);
    const early = await a.spiffe.purge(TEST_ADMIN);
    expect((await a.spiffe.list({ spiffeId: id }, TEST_ADMIN)).items).toHaveLength(1);
    clock.set(expires + DAY + 1000);
    const late = await a.spiffe.purge(TEST_ADMIN);
    expect(late.purged).toBeGreaterThanOrEqual(1);
    expect((await a.spiffe.list({ spiffeId: id }, TEST_ADMIN)).items).toHaveLength(0);
    expect(early.purged + late.purged).toBeGreaterThanOrEqual(1);
    const [event] = await a.audit.list({ action: 'spiffe.purged', order: 'desc', limit: 1 });
    expect(event!.details.count).toBeGreaterThanOrEqual(1);
  });

  it('rotates an intermediate, keeping the old one in the bundle until its last SVID expires', async () => {
    clock.set(t0 + 10 * DAY);
    const id = spiffeIdFor('envoy/app', 'e-1');
    const before = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'envoy/app', instanceId: 'e-1', ttlSeconds: 7200 },
      { bearerToken: token },
    );
    const oldBundle = await a.spiffe.bundle();
    const rot = await a.spiffe.rotate({ role: 'transport' }, TEST_ADMIN);
    expect(rot.oldKeptUntil).toBe(before.expiresAt);
    const during = await a.spiffe.bundle();
    expect(during.version).not.toBe(oldBundle.version);
    expect(during.transportBundle).toHaveLength(3); // new, old, root
    expect(during.transportBundle).toContain(before.chain[0]);
    const after = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'envoy/app', instanceId: 'e-1' },
      { bearerToken: token },
    );
    expect(after.chain[0]).not.toBe(before.chain[0]);
    clock.set(Date.parse(before.expiresAt) + 1000);
    const later = await a.spiffe.bundle();
    expect(later.transportBundle).toHaveLength(2);
    expect(later.transportBundle).not.toContain(before.chain[0]);
  });

  it('renews over mTLS an SVID of a superseded CA while that CA is in the bundle, from the current CA', async () => {
    clock.set(t0 + 12 * DAY);
    const sign = (instanceId: string, cred: Parameters<Authority['spiffe']['sign']>[1], ttlSeconds = 7200) =>
      a.spiffe.sign(
        { csrPem: svidCsr(spiffeIdFor('node', instanceId)).csrPem, serviceType: 'node', instanceId, ttlSeconds },
        cred,
      );
    const oldA = await sign('rot-a', { bearerToken: token });
    const oldB = await sign('rot-b', { bearerToken: token }, 3600);
    const rot = await a.spiffe.rotate({ role: 'services' }, TEST_ADMIN);
    clock.set(t0 + 12 * DAY + 60_000);
    const renewed = await sign('rot-a', { clientCertificate: fromPem(oldA.certificatePem, 'CERTIFICATE') });
    const bundle = await a.spiffe.bundle();
    expect(bundle.servicesBundle).toHaveLength(3); // the new CA, the superseded one, the root
    expect(bundle.servicesBundle[1]).toBe(oldA.chain[0]);
    expect(renewed.chain[0]).toBe(bundle.servicesBundle[0]); // signed by the current CA
    const v = opensslVerify({
      leafPem: renewed.certificatePem,
      chainPems: renewed.chain,
      rootPem: bundle.servicesBundle.at(-1)!,
      purpose: 'sslclient',
      atTime: Math.floor(clock.now() / 1000) + 60, // the injected clock's now
    });
    expect(v.ok, v.output).toBe(true);
    const status = await a.spiffe.status(TEST_ADMIN);
    expect(status.bundleCas.find((c) => c.id === rot.oldCaId)).toMatchObject({
      state: 'superseded',
      inBundleUntil: oldA.expiresAt,
    });

    // a CA that left the bundle (its keepUntil passed while an SVID it signed is still valid: an issuance racing the
    // rotation) renews nothing: relying parties no longer trust that SVID either
    await internalsOf(a).store.commit({ updateSpiffeCas: [{ id: rot.oldCaId, patch: { keepUntil: clock.now() } }] });
    expect((await a.spiffe.bundle()).servicesBundle).not.toContain(oldB.chain[0]);
    const e = await expectPkiError(
      sign('rot-b', { clientCertificate: fromPem(oldB.certificatePem, 'CERTIFICATE') }),
      'spiffe.svid_invalid',
    );
    expect(e.message).toMatch(/superseded by a rotation and left the trust bundle at /);
    expect((await a.spiffe.list({ spiffeId: spiffeIdFor('node', 'rot-b') }, TEST_ADMIN)).items).toHaveLength(1);
  });

  it('warns in status when a CA expires within 30 days, and when one has expired', async () => {
    const s0 = await a.spiffe.status(TEST_ADMIN);
    const servicesNotAfter = Date.parse(s0.servicesCa!.notAfter);
    clock.set(servicesNotAfter - 20 * DAY);
    const soon = await a.spiffe.status(TEST_ADMIN);
    expect(soon.status).toBe('degraded');
    expect(soon.warnings.join('\n')).toMatch(/services CA .* expires in 20 day\(s\).*pkim spiffe rotate services/);
    clock.set(servicesNotAfter + 1000);
    const gone = await a.spiffe.status(TEST_ADMIN);
    expect(gone.warnings.join('\n')).toMatch(/services CA .* expired at/);
  });
});

describe('a rotation racing an SVID of the old CA', () => {
  let a: Authority;
  let token: string;
  const clock = fixedClock(Date.now());
  spiffeAuthority(clock, (x) => ({ authority: a, token } = x));

  it('keeps the old CA in the bundle while an SVID it signed between the rotation read and commit lives', async () => {
    const sign = (instanceId: string, ttlSeconds: number) =>
      a.spiffe.sign(
        { csrPem: svidCsr(spiffeIdFor('node', instanceId)).csrPem, serviceType: 'node', instanceId, ttlSeconds },
        { bearerToken: token },
      );
    const early = await sign('race-a', 600);
    // the real store, one step in between: once the rotation has read the old CA's SVIDs, an SVID of the old CA (still
    // the active one) is issued and committed, before the rotation commits
    const spiffeStore = internalsOf(a).store.spiffe;
    const read = spiffeStore.svidsByCa.bind(spiffeStore);
    let racing: ReturnType<typeof sign> | undefined;
    spiffeStore.svidsByCa = async (now) => {
      const rows = await read(now);
      spiffeStore.svidsByCa = read;
      racing = sign('race-b', 7200);
      await racing;
      return rows;
    };
    let rot: Awaited<ReturnType<Authority['spiffe']['rotate']>>;
    try {
      rot = await a.spiffe.rotate({ role: 'services' }, TEST_ADMIN);
    } finally {
      spiffeStore.svidsByCa = read;
    }
    const late = await racing!;
    expect(late.chain[0]).toBe(early.chain[0]); // signed by the old CA
    expect(rot.oldKeptUntil).toBe(late.expiresAt);
    const status = await a.spiffe.status(TEST_ADMIN);
    expect(status.bundleCas.find((c) => c.id === rot.oldCaId)).toMatchObject({ inBundleUntil: late.expiresAt });
    // a second before it expires, relying parties still have its CA: openssl verifies it with the bundle's
    clock.set(Date.parse(late.expiresAt) - 1000);
    const bundle = await a.spiffe.bundle();
    expect(bundle.servicesBundle).toContain(late.chain[0]);
    const v = opensslVerify({
      leafPem: late.certificatePem,
      chainPems: late.chain,
      rootPem: bundle.servicesBundle.at(-1)!,
      purpose: 'sslclient',
      atTime: Math.floor(clock.now() / 1000),
    });
    expect(v.ok, v.output).toBe(true);
  });
});

// its PostgreSQL twin: spiffe-service-pg.test.ts
describe('an SVID of the old CA committed after the rotation returned (SQLite)', () => {
  let a: Authority;
  let token: string;
  const clock = fixedClock(Date.now());
  spiffeAuthority(clock, (x) => ({ authority: a, token } = x));

  it('is refused by its commit (the old CA does not keep it) and signed again by the new CA', async () => {
    await heldSvidSignedAgainByTheNewCa(a, token, clock);
  });

  it('is committed as signed when the old CA is kept beyond it', async () => {
    await heldSvidKeptByTheOldCa(a, token, clock);
  });

  it('two rotations during one issuance: spiffe.ca_rotated (503, retryable), no SVID written', async () => {
    await twoRotationsAnswerRetryable(a, token);
  });
});

describe('the transport CA and names outside its plane', () => {
  let a: Authority;
  let init: SpiffeInit;
  spiffeAuthority(fixedClock(Date.now()), (x) => ({ authority: a, init } = x));

  /** Signs a plan with the transport CA's key, bypassing the pipeline and its linter (an attacker holding the key). */
  async function forceBuild(uri: string): Promise<string> {
    const ca = (await a.cas.get(init.transportCaId)).ca;
    const key = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const now = Date.now();
    const plan = planCertificate({
      profile: BUILT_IN_PROFILES['spiffe-svid'],
      subject: [{ type: 'O', value: 'forged' }],
      sans: { uri: [uri] },
      publicKey: new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' })),
      issuer: { certificateDer: fromPem(ca.certificatePem!, 'CERTIFICATE'), keyType: ca.keyType },
      serial: generateSerial(),
      notBefore: now - 60_000,
      notAfter: now + H,
    });
    const tbs = encodeTbsCertificate(plan);
    const der = assembleCertificate(
      tbs,
      ca.keyType,
      await (await internalsOf(a).keys.loadSigner(ca.keyUri, ca.keyType)).sign(tbs),
    );
    return toPem(der, 'CERTIFICATE');
  }

  it('refuses spiffe://<td>/orchestrator/x from the transport CA in the linter (audited)', async () => {
    const id = spiffeIdFor('orchestrator', 'x');
    const e = await expectPkiError(
      a.sign(
        { kind: 'leaf-csr', ca: init.transportCaId, profile: 'spiffe-svid', csrPem: svidCsr(id).csrPem, lifetimeMs: H },
        { actor: TEST_ADMIN },
      ),
      'lint.name_constraints_violation',
    );
    expect(e.message).toMatch(/outside the CA's permitted URI prefixes/);
    const [event] = await a.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
    expect(event!.details.code).toBe('lint.name_constraints_violation');
    // the services CA may not sign envoy identities either
    await expectPkiError(
      a.sign(
        {
          kind: 'leaf-csr',
          ca: init.servicesCaId,
          profile: 'spiffe-svid',
          csrPem: svidCsr(spiffeIdFor('envoy/app', 'x')).csrPem,
          lifetimeMs: H,
        },
        { actor: TEST_ADMIN },
      ),
      'lint.name_constraints_violation',
    );
  });

  it('has openssl and Go reject a force-built certificate outside the transport CA name constraint', async () => {
    const bundle = await a.spiffe.bundle();
    const [transportPem, rootPem] = bundle.transportBundle as [string, string];
    // the certificate's constraint is the trust domain (RFC 5280: URI constraints are on the host)
    const forged = await forceBuild('spiffe://evil.example/orchestrator/x');
    const o = opensslVerify({ leafPem: forged, chainPems: [transportPem], rootPem });
    expect(o.ok).toBe(false);
    expect(o.output).toMatch(/permitted subtree violation/);
    const g = goVerify({ leafPem: forged, intermediatesPems: [transportPem], rootPem, keyUsage: 'any' });
    expect(g.ok).toBe(false);
    expect(g.output).toMatch(/not permitted|constraint/);
    // control: the same forgery inside the constraint chains, so the check above is the constraint at work
    const inside = await forceBuild(spiffeIdFor('envoy/app', 'forged'));
    expect(opensslVerify({ leafPem: inside, chainPems: [transportPem], rootPem }).ok).toBe(true);
    // a same-trust-domain path outside the plane (spiffe://<td>/orchestrator/x) differs only in the path, which
    // RFC 5280 name constraints cannot express: relying parties chain it; PKI Manager refuses to issue it (above)
    // and refuses it for renewal (it is not an SVID issued here)
    const samePath = await forceBuild(spiffeIdFor('orchestrator', 'x'));
    expect(opensslVerify({ leafPem: samePath, chainPems: [transportPem], rootPem }).ok).toBe(true);
    await expectPkiError(
      a.spiffe.sign(
        {
          csrPem: svidCsr(spiffeIdFor('orchestrator', 'x')).csrPem,
          serviceType: 'orchestrator',
          instanceId: 'x',
        },
        { clientCertificate: fromPem(samePath, 'CERTIFICATE') },
      ),
      'spiffe.svid_invalid',
    );
  });
});
