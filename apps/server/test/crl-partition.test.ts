// CRL partitioning (docs/crl.md): once a CA has PKIM_CRL_PARTITION_ABOVE certificates, a new certificate's CRL
// distribution point is the partition of its notAfter (`/crl/<caId>/<start>-<end>.crl`), and that URL serves a CRL
// with a critical issuingDistributionPoint naming it. Every CRL is checked by openssl, GnuTLS certtool and Go, and
// `openssl verify -crl_check` finds a revoked certificate in its own partition only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import { toPem } from '@pkim/core';
import { crlVerifyAll, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, type AuthorityFixture, createRootCa, listen, openAuthorityFixture } from './server-test-support';

const DAY = 86_400_000;

describe('CRL partitions by notAfter window', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let caId: string;
  let rootPem: string;
  const leaves: { id: string; serial: string; pem: string; dp: string }[] = [];

  beforeAll(async () => {
    fx = await openAuthorityFixture({
      publicBaseUrl: 'http://pki.test',
      env: { PKIM_CRL_PARTITION_ABOVE: '2', PKIM_CRL_PARTITION_DAYS: '1' },
    });
    authority = fx.authority;
    ({ id: caId, pem: rootPem } = await createRootCa(authority, 'part-root'));
    for (const days of [20, 20, 10, 40]) {
      const cn = `p${leaves.length}.example.test`;
      const issued = await authority.issuance.issueWithKey(
        {
          caId,
          profile: 'tls-server',
          subject: { commonName: cn },
          sans: { dns: [cn] },
          keyType: 'ec-p256',
          validityMs: days * DAY,
        },
        ACTORS.admin,
      );
      const dp = /URI:(http:\/\/pki\.test\/crl\/\S+)/.exec(
        opensslText(issued.certificatePem).split('CRL Distribution Points')[1] ?? '',
      )?.[1];
      leaves.push({
        id: issued.certificate.id,
        serial: issued.certificate.serialHex,
        pem: issued.certificatePem,
        dp: dp!,
      });
    }
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const get = async (url: string) => {
    const r = await fetch(url.replace('http://pki.test', base));
    return { status: r.status, der: new Uint8Array(await r.arrayBuffer()) };
  };
  const crlPem = (der: Uint8Array) => toPem(der, 'X509 CRL');

  it('gives certificates the partition of their notAfter once the CA has passed the threshold', () => {
    // the first two were issued below the threshold: the complete CRL
    expect(leaves[0]!.dp).toBe(`http://pki.test/crl/${caId}.crl`);
    expect(leaves[1]!.dp).toBe(`http://pki.test/crl/${caId}.crl`);
    for (const leaf of leaves.slice(2)) {
      const m = new RegExp(`^http://pki\\.test/crl/${caId}/(\\d+)-(\\d+)\\.crl$`).exec(leaf.dp);
      expect(m, leaf.dp).not.toBeNull();
      const notAfter = Date.parse(/Not After : (.+)/.exec(opensslText(leaf.pem))![1]!);
      expect(Number(m![2]) - Number(m![1])).toBe(86_400);
      expect(Number(m![1]) * 1000).toBeLessThanOrEqual(notAfter);
      expect(notAfter).toBeLessThan(Number(m![2]) * 1000);
    }
    expect(leaves[2]!.dp).not.toBe(leaves[3]!.dp);
  });

  it('crl-refresh builds every partition CRL ahead of any request (verified by openssl crl with the CA)', async () => {
    const window = (pem: string) => {
      const notAfter = Date.parse(/Not After : (.+)/.exec(opensslText(pem))![1]!);
      return `${Math.floor(notAfter / DAY) * 86_400}-${(Math.floor(notAfter / DAY) + 1) * 86_400}`;
    };
    const run = await authority.maintenance.refreshCrls({ refreshBeforeMs: 3_600_000 });
    expect(run.failed).toEqual([]);
    const built = new Map(
      run.refreshed.map((r) => [`${r.partition!.start / 1000}-${r.partition!.end / 1000}`, r.crlNumber]),
    );
    // the windows of every certificate not yet expired (the first two name the complete CRL: built anyway, small)
    expect(new Set(built.keys())).toEqual(new Set(leaves.map((l) => window(l.pem))));
    for (const leaf of leaves.slice(2)) {
      // a relying party's first request gets the CRL the job signed: same CRL number, no build on the way
      const served = await get(leaf.dp);
      expect(served.status).toBe(200);
      const check = crlVerifyAll(served.der, rootPem);
      expect(check.ok, check.text).toBe(true);
      expect(check.text).toContain(`URI:${leaf.dp}`);
      const crlNumber = Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(check.text)?.[1]);
      expect(crlNumber).toBe(built.get(window(leaf.pem)));
    }
    // the next run has nothing to build
    expect((await authority.maintenance.refreshCrls({ refreshBeforeMs: 3_600_000 })).refreshed).toEqual([]);
  });

  it('serves partitions with a critical issuingDistributionPoint; a revoked certificate is in its own', async () => {
    const [full0, , revoked, other] = leaves as [(typeof leaves)[0], unknown, (typeof leaves)[0], (typeof leaves)[0]];
    await authority.certificates.revoke(revoked.id, 'keyCompromise', ACTORS.admin);
    await authority.certificates.revoke(full0.id, 'superseded', ACTORS.admin);

    const own = await get(revoked.dp);
    expect(own.status).toBe(200);
    const ownCheck = crlVerifyAll(own.der, rootPem);
    expect(ownCheck.ok, ownCheck.text).toBe(true);
    expect(ownCheck.text).toMatch(/Issuing Distribution Point: critical/);
    expect(ownCheck.text).toContain(`URI:${revoked.dp}`);
    expect(ownCheck.text).toMatch(/Only User Certificates/);
    expect([...ownCheck.go.entries.keys()]).toEqual([revoked.serial.replace(/^0+/, '')]);
    expect(ownCheck.certtool.output).toContain(revoked.serial.replace(/^0+/, '').slice(0, 8));

    const theirs = await get(other.dp);
    const theirCheck = crlVerifyAll(theirs.der, rootPem);
    expect(theirCheck.ok, theirCheck.text).toBe(true);
    expect(theirCheck.go.entries.size).toBe(0);
    expect(theirCheck.text).toContain(`URI:${other.dp}`);

    // relying parties: openssl finds the revocation through the certificate's own partition CRL …
    const revokedVerdict = opensslVerify({ leafPem: revoked.pem, rootPem, crlPems: [crlPem(own.der)] });
    expect(revokedVerdict.ok).toBe(false);
    expect(revokedVerdict.output).toMatch(/certificate revoked/);
    expect(opensslVerify({ leafPem: other.pem, rootPem, crlPems: [crlPem(theirs.der)] }).ok).toBe(true);
    // … and does not take another partition's CRL for it (its scope does not cover the certificate)
    const wrongScope = opensslVerify({ leafPem: revoked.pem, rootPem, crlPems: [crlPem(theirs.der)] });
    expect(wrongScope.ok).toBe(false);
    expect(wrongScope.output).toMatch(/different CRL scope/);

    // the complete CRL still lists every revoked certificate, without an issuingDistributionPoint
    const full = await get(full0.dp);
    const fullCheck = crlVerifyAll(full.der, rootPem);
    expect(fullCheck.ok, fullCheck.text).toBe(true);
    expect(fullCheck.text).not.toMatch(/Issuing Distribution Point/);
    expect(new Set(fullCheck.go.entries.keys())).toEqual(
      new Set([revoked.serial, full0.serial].map((s) => s.replace(/^0+/, ''))),
    );
  });

  it('answers 404 for a window that is not an aligned partition', async () => {
    const m = /\/(\d+)-(\d+)\.crl$/.exec(leaves[2]!.dp)!;
    const start = Number(m[1]);
    expect((await get(`http://pki.test/crl/${caId}/${start + 1}-${start + 86_401}.crl`)).status).toBe(404);
    expect((await get(`http://pki.test/crl/${caId}/${start}-${start + 1000}.crl`)).status).toBe(404);
  });
});
