// Finding 9 of issue #9: a CSR with 8,000 IP SANs (or 10,000 copies of `DNS:a`) was signed, U+202E (right-to-left
// override) was accepted in subject DNs, and of two CSRs concatenated in one PEM body the first was used and the
// second silently ignored. Now: SAN count and size limits per profile (default 100 SANs, 16 KiB), control and
// invisible characters refused in DNs and SANs (`input.forbidden_character`), one CSR per body. Every refusal
// changes nothing in the database (a failure audit event aside).
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PROFILES, buildCsr, fromPem, type SubjectAltNames } from '@pkim/core';
import { PkiError } from '@pkim/shared';
import { opensslVerify } from '../support/verifiers';
import { openssl } from '../support/openssl-tools';
import { ACTORS, csrFor, databaseDigest, openSecurityFixture, type SecurityFixture } from './security-support';

/** a CSR (EC P-256) with exactly these SANs and this CN, built without any limit (the attacker's tool) */
async function rawCsr(cn: string, sans: SubjectAltNames): Promise<string> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const der = await buildCsr({ subject: [{ type: 'CN', value: cn }], sans, publicKey: spki, keyType: 'ec-p256' }, (d) =>
    sign('sha256', d, { key: privateKey, dsaEncoding: 'der' }),
  );
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** a CSR made by `openssl req -utf8`: takes any characters in the subject (and SANs), as an attacker would */
function utf8Csr(cn: string, sans: string[] = []): string {
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@k.pem'];
  args.push('-utf8', '-subj', `/CN=${cn}`);
  if (sans.length) args.push('-addext', `subjectAltName=${sans.join(',')}`);
  const r = openssl(args);
  if (!r.ok) throw new Error(r.output);
  const end = '-----END CERTIFICATE REQUEST-----';
  return `${r.output.slice(r.output.indexOf('-----BEGIN'), r.output.indexOf(end) + end.length)}\n`;
}

const ips = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof PkiError ? e.code : `not a PkiError: ${String(e)}`;
  }
};

describe('finding 9: SAN limits, forbidden characters, one CSR per body — refused, nothing changed', () => {
  let s: SecurityFixture;
  const tight = { ...BUILT_IN_PROFILES['tls-server'], name: 'tight-server', maxSans: 3, maxSanBytes: 40 };
  beforeAll(async () => {
    s = await openSecurityFixture({ authority: { customProfiles: [tight] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** runs `attempt`, expects `code`, and the database unchanged */
  async function refused(code: string, attempt: () => Promise<unknown>) {
    const before = databaseDigest(s);
    expect(await codeOf(attempt())).toBe(code);
    expect(databaseDigest(s)).toEqual(before);
  }
  const fromCsr = (csrPem: string, profile = 'tls-server') =>
    s.authority.issuance.issueFromCsr({ caId: s.intId, csrPem, profile }, ACTORS.operator);

  it('refuses the reported CSRs: 8,000 IP SANs and 10,000 copies of DNS:a (policy.too_many_sans)', async () => {
    await refused('policy.too_many_sans', async () => fromCsr(await rawCsr('many.example', { ip: ips(8000) })));
    // made by openssl: duplicates count, a CSR is judged by what it asks for
    const copies = csrFor('a', Array<string>(10_000).fill('DNS:a'));
    await refused('policy.too_many_sans', () => fromCsr(copies));
    // and as a request for approval: nothing waits in the queue
    await refused('policy.too_many_sans', () =>
      s.authority.requests.submit({ caId: s.intId, csrPem: copies, profile: 'tls-server' }, ACTORS.requester),
    );
  });

  it('signs 100 SANs (the default limit, openssl verifies the certificate) and refuses 101', async () => {
    const names = Array.from({ length: 99 }, (_, i) => `DNS:h${i}.example.com`);
    const ok = await fromCsr(csrFor('edge.example.com', ['DNS:edge.example.com', ...names]));
    expect(ok.certificate.sans.dns).toHaveLength(100);
    const v = opensslVerify({
      leafPem: ok.certificatePem,
      chainPems: [s.intPem],
      rootPem: s.rootPem,
      purpose: 'sslserver',
      hostname: 'h98.example.com',
    });
    expect(v.ok, v.output).toBe(true);
    await refused('policy.too_many_sans', () =>
      fromCsr(csrFor('edge.example.com', ['DNS:edge.example.com', 'DNS:one-more.example.com', ...names])),
    );
    // explicit SANs (no CSR) meet the same limit
    await refused('policy.too_many_sans', () =>
      s.authority.issuance.issueWithKey(
        {
          caId: s.intId,
          profile: 'tls-server',
          subject: { commonName: 'x.example' },
          sans: { dns: ['x.example'], ip: ips(100) },
          keyType: 'ec-p256',
        },
        ACTORS.operator,
      ),
    );
  });

  it("applies a profile's own maxSans and maxSanBytes", async () => {
    await refused('policy.too_many_sans', () =>
      fromCsr(csrFor('a.example', ['DNS:a.example', 'DNS:b.example', 'DNS:c.example', 'DNS:d.example']), tight.name),
    );
    await refused('policy.sans_too_large', () =>
      fromCsr(csrFor('a.example', [`DNS:${'a'.repeat(30)}.example`, `DNS:${'b'.repeat(30)}.example`]), tight.name),
    );
    const ok = await fromCsr(csrFor('a.example', ['DNS:a.example', 'DNS:b.example']), tight.name);
    expect(ok.certificate.profile).toBe('tight-server');
  });

  it('refuses bidi, zero-width and control characters in DNs and SANs (input.forbidden_character)', async () => {
    // U+202E in the CSR subject: "moc.elpmaxe" would display reversed
    await refused('input.forbidden_character', async () => fromCsr(utf8Csr('\u202emoc.elpmaxe', ['DNS:x.example'])));
    await refused('input.forbidden_character', async () =>
      s.authority.requests.submit(
        { caId: s.intId, csrPem: utf8Csr('pay\u200bpal.example'), profile: 'tls-server' },
        ACTORS.requester,
      ),
    );
    for (const commonName of [
      'evil\u202e.example',
      'zero\u200dwidth',
      'bom\ufeff',
      'line\u2028sep',
      'nul\u0000',
      'c1\u0085',
    ]) {
      await refused('input.forbidden_character', () =>
        s.authority.issuance.issueWithKey(
          {
            caId: s.intId,
            profile: 'tls-server',
            subject: { commonName },
            sans: { dns: ['x.example'] },
            keyType: 'ec-p256',
          },
          ACTORS.operator,
        ),
      );
    }
    await refused('input.forbidden_character', () =>
      s.authority.issuance.issueWithKey(
        {
          caId: s.intId,
          profile: 'tls-server',
          subject: { commonName: 'fine.example' },
          sans: { dns: ['fine.example', 'exa\u200bmple.com'] },
          keyType: 'ec-p256',
        },
        ACTORS.operator,
      ),
    );
    await refused('input.forbidden_character', () =>
      s.authority.cas.create(
        { name: 'bidi-ca', subject: { commonName: 'Root \u2067CA\u2069', country: 'US' }, keyType: 'ec-p256' },
        ACTORS.admin,
      ),
    );
    // visible non-ASCII text is fine
    const ok = await s.authority.issuance.issueWithKey(
      {
        caId: s.intId,
        profile: 'tls-server',
        subject: { commonName: 'Zürich Ørsted 東京' },
        sans: { dns: ['zurich.example'] },
        keyType: 'ec-p256',
      },
      ACTORS.operator,
    );
    expect(ok.certificate.subjectDn).toContain('Zürich Ørsted 東京');
  });

  it('refuses trailing data after a CSR: a second CSR, text, or bytes after the DER (csr.invalid)', async () => {
    const one = csrFor('first.example');
    const two = csrFor('second.example');
    await refused('csr.invalid', () => fromCsr(one + two));
    await refused('csr.invalid', () => fromCsr(`${one}\nsome trailing text\n`));
    await refused('csr.invalid', () =>
      s.authority.requests.submit({ caId: s.intId, csrPem: one + two, profile: 'tls-server' }, ACTORS.requester),
    );
    const der = fromPem(one, 'CERTIFICATE REQUEST');
    await refused('csr.invalid', () =>
      s.authority.issuance.issueFromCsr(
        {
          caId: s.intId,
          csrPem: Buffer.concat([der, Buffer.from([0x05, 0x00])]) as unknown as string,
          profile: 'tls-server',
        },
        ACTORS.operator,
      ),
    );
    // explanatory text BEFORE the block (openssl req -text) is fine (RFC 7468)
    const withText = openssl(['req', '-in', '@csr.pem', '-text'], { 'csr.pem': one });
    expect(withText.ok, withText.output).toBe(true);
    expect(withText.output.indexOf('Certificate Request:')).toBeLessThan(withText.output.indexOf('-----BEGIN'));
    const issued = await fromCsr(
      withText.output.slice(0, withText.output.indexOf('-----END CERTIFICATE REQUEST-----') + 34),
    );
    expect(issued.certificate.commonName).toBe('first.example');
  });

  describe('over HTTP', () => {
    const sign = (csr: string, profile = 'tls-server') =>
      s.http('POST', `/api/v1/cas/${s.intId}/sign`, { token: s.operatorToken, body: { csr, profile } });

    async function refusedOverHttp(status: number, code: string, send: () => Promise<{ status: number; json(): any }>) {
      const before = databaseDigest(s);
      const r = await send();
      expect({ status: r.status, code: r.json().code ?? r.json().error?.data?.pkiCode }).toEqual({ status, code });
      expect(databaseDigest(s)).toEqual(before);
    }

    it('REST sign: too many SANs 422, forbidden characters 400, two CSRs 400 — in the one error shape', async () => {
      await refusedOverHttp(422, 'policy.too_many_sans', () => sign(csrFor('a', Array<string>(10_000).fill('DNS:a'))));
      await refusedOverHttp(422, 'policy.too_many_sans', async () => sign(await rawCsr('m.example', { ip: ips(101) })));
      await refusedOverHttp(400, 'input.forbidden_character', async () =>
        sign(utf8Csr('\u202egro.elpmaxe', ['DNS:y.example'])),
      );
      await refusedOverHttp(400, 'csr.invalid', () => sign(csrFor('one.example') + csrFor('two.example')));
      const r = await sign(csrFor('two.example') + csrFor('one.example'));
      expect(Object.keys(r.json()).sort()).toEqual(['code', 'error', 'message', 'requestId']);
      expect(Object.keys(r.json().error).sort()).toEqual(['code', 'message']);
    });

    it('tRPC: issueWithKey with U+202E in the CN, request.submit with two CSRs: refused with a pkiCode', async () => {
      await refusedOverHttp(400, 'input.forbidden_character', () =>
        s.http('POST', '/trpc/certificate.issueWithKey', {
          token: s.operatorToken,
          body: {
            ca: s.intId,
            profile: 'tls-server',
            subject: { commonName: 'admin\u202e' },
            sans: { dns: ['z.example'] },
            keyType: 'ec-p256',
          },
        }),
      );
      await refusedOverHttp(400, 'csr.invalid', () =>
        s.http('POST', '/trpc/request.submit', {
          token: s.operatorToken,
          body: { ca: s.intId, csr: csrFor('one.example') + csrFor('two.example'), profile: 'tls-server' },
        }),
      );
    });
  });
});
