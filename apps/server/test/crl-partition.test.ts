// CRL partitioning (docs/crl.md): once a CA has PKIM_CRL_PARTITION_ABOVE certificates, a new certificate's CRL
// distribution point is the partition of its notAfter (`/crl/<caId>/<start>-<end>.crl`), and that URL serves a CRL
// with a critical issuingDistributionPoint naming it. Every CRL is checked by openssl, GnuTLS certtool and Go, and
// `openssl verify -crl_check` finds a revoked certificate in its own partition only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock, type Clock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import { toPem } from '@pkim/core';
import { crlVerifyAll, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, type AuthorityFixture, createRootCa, listen, openAuthorityFixture } from './server-test-support';
import { ocspLeaf, type OcspLeaf } from './ocsp-test-support';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** the certificate's CRL distribution point (http://pki.test/crl/…), as openssl reads it */
const distributionPoint = (pem: string) =>
  /URI:(http:\/\/pki\.test\/crl\/\S+)/.exec(opensslText(pem).split('CRL Distribution Points')[1] ?? '')![1]!;
/** the CRL number and thisUpdate (ms) in `openssl crl -text` */
const crlNumberOf = (text: string) => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text)?.[1]);
const lastUpdateOf = (text: string) => Date.parse(/Last Update: (.+)/.exec(text)![1]!);

interface PartitionedPki {
  authority: Authority;
  caId: string;
  rootPem: string;
  /** the leaves in the order of `days`, each with its CRL distribution point */
  leaves: (OcspLeaf & { dp: string })[];
  /** GET of a http://pki.test/… URL from the test server */
  get(url: string): Promise<{ status: number; der: Uint8Array }>;
}

/**
 * Registers the suite's hooks: an authority (1-day partitions once a CA has `above` certificates) behind a test
 * server, a root CA `<name>-root`, and a TLS leaf `<name><i>.example.test` of it per entry of `days` (its validity).
 */
function usePartitionedPki(name: string, above: number, days: number[], clock?: Clock): PartitionedPki {
  const pki = { leaves: [] as PartitionedPki['leaves'] } as PartitionedPki;
  let fx: AuthorityFixture | undefined;
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    fx = await openAuthorityFixture({
      ...(clock ? { clock } : {}),
      publicBaseUrl: 'http://pki.test',
      env: { PKIM_CRL_PARTITION_ABOVE: String(above), PKIM_CRL_PARTITION_DAYS: '1' },
    });
    pki.authority = fx.authority;
    ({ id: pki.caId, pem: pki.rootPem } = await createRootCa(pki.authority, `${name}-root`));
    for (const d of days) {
      const leaf = await ocspLeaf(pki.authority, pki.caId, `${name}${pki.leaves.length}.example.test`, d * DAY);
      pki.leaves.push({ ...leaf, dp: distributionPoint(leaf.pem) });
    }
    app = await buildServer(pki.authority, { logger: false, backgroundJobs: false });
    const base = await listen(app);
    pki.get = async (url) => {
      const r = await fetch(url.replace('http://pki.test', base));
      return { status: r.status, der: new Uint8Array(await r.arrayBuffer()) };
    };
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });
  return pki;
}

describe('CRL partitions by notAfter window', () => {
  const pki = usePartitionedPki('p', 2, [20, 20, 10, 40]);
  const { leaves } = pki;
  const crlPem = (der: Uint8Array) => toPem(der, 'X509 CRL');

  it('gives certificates the partition of their notAfter once the CA has passed the threshold', () => {
    // the first two were issued below the threshold: the complete CRL
    expect(leaves[0]!.dp).toBe(`http://pki.test/crl/${pki.caId}.crl`);
    expect(leaves[1]!.dp).toBe(`http://pki.test/crl/${pki.caId}.crl`);
    for (const leaf of leaves.slice(2)) {
      const m = new RegExp(`^http://pki\\.test/crl/${pki.caId}/(\\d+)-(\\d+)\\.crl$`).exec(leaf.dp);
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
    const run = await pki.authority.maintenance.refreshCrls({ refreshBeforeMs: 3_600_000 });
    expect(run.failed).toEqual([]);
    const built = new Map(
      run.refreshed.map((r) => [`${r.partition!.start / 1000}-${r.partition!.end / 1000}`, r.crlNumber]),
    );
    // the windows of every certificate not yet expired (the first two name the complete CRL: built anyway, small)
    expect(new Set(built.keys())).toEqual(new Set(leaves.map((l) => window(l.pem))));
    for (const leaf of leaves.slice(2)) {
      // a relying party's first request gets the CRL the job signed: same CRL number, no build on the way
      const served = await pki.get(leaf.dp);
      expect(served.status).toBe(200);
      const check = crlVerifyAll(served.der, pki.rootPem);
      expect(check.ok, check.text).toBe(true);
      expect(check.text).toContain(`URI:${leaf.dp}`);
      expect(crlNumberOf(check.text)).toBe(built.get(window(leaf.pem)));
    }
    // the next run has nothing to build
    expect((await pki.authority.maintenance.refreshCrls({ refreshBeforeMs: 3_600_000 })).refreshed).toEqual([]);
  });

  it('serves partitions with a critical issuingDistributionPoint; a revoked certificate is in its own', async () => {
    const [full0, , revoked, other] = leaves as [(typeof leaves)[0], unknown, (typeof leaves)[0], (typeof leaves)[0]];
    await pki.authority.certificates.revoke(revoked.id, 'keyCompromise', ACTORS.admin);
    await pki.authority.certificates.revoke(full0.id, 'superseded', ACTORS.admin);

    const own = await pki.get(revoked.dp);
    expect(own.status).toBe(200);
    const ownCheck = crlVerifyAll(own.der, pki.rootPem);
    expect(ownCheck.ok, ownCheck.text).toBe(true);
    expect(ownCheck.text).toMatch(/Issuing Distribution Point: critical/);
    expect(ownCheck.text).toContain(`URI:${revoked.dp}`);
    expect(ownCheck.text).toMatch(/Only User Certificates/);
    expect([...ownCheck.go.entries.keys()]).toEqual([revoked.serial.replace(/^0+/, '')]);
    expect(ownCheck.certtool.output).toContain(revoked.serial.replace(/^0+/, '').slice(0, 8));

    const theirs = await pki.get(other.dp);
    const theirCheck = crlVerifyAll(theirs.der, pki.rootPem);
    expect(theirCheck.ok, theirCheck.text).toBe(true);
    expect(theirCheck.go.entries.size).toBe(0);
    expect(theirCheck.text).toContain(`URI:${other.dp}`);

    // relying parties: openssl finds the revocation through the certificate's own partition CRL …
    const revokedVerdict = opensslVerify({ leafPem: revoked.pem, rootPem: pki.rootPem, crlPems: [crlPem(own.der)] });
    expect(revokedVerdict.ok).toBe(false);
    expect(revokedVerdict.output).toMatch(/certificate revoked/);
    expect(opensslVerify({ leafPem: other.pem, rootPem: pki.rootPem, crlPems: [crlPem(theirs.der)] }).ok).toBe(true);
    // … and does not take another partition's CRL for it (its scope does not cover the certificate)
    const wrongScope = opensslVerify({ leafPem: revoked.pem, rootPem: pki.rootPem, crlPems: [crlPem(theirs.der)] });
    expect(wrongScope.ok).toBe(false);
    expect(wrongScope.output).toMatch(/different CRL scope/);

    // the complete CRL still lists every revoked certificate, without an issuingDistributionPoint
    const full = await pki.get(full0.dp);
    const fullCheck = crlVerifyAll(full.der, pki.rootPem);
    expect(fullCheck.ok, fullCheck.text).toBe(true);
    expect(fullCheck.text).not.toMatch(/Issuing Distribution Point/);
    expect(new Set(fullCheck.go.entries.keys())).toEqual(
      new Set([revoked.serial, full0.serial].map((s) => s.replace(/^0+/, ''))),
    );
  });

  it('answers 404 for a window that is not an aligned partition', async () => {
    const m = /\/(\d+)-(\d+)\.crl$/.exec(leaves[2]!.dp)!;
    const start = Number(m[1]);
    expect((await pki.get(`http://pki.test/crl/${pki.caId}/${start + 1}-${start + 86_401}.crl`)).status).toBe(404);
    expect((await pki.get(`http://pki.test/crl/${pki.caId}/${start}-${start + 1000}.crl`)).status).toBe(404);
  });
});

describe("crl-refresh near a partition CRL's nextUpdate", () => {
  // the authority's clock starts 20 h before the test: a partition CRL signed then (24 h validity) has 4 h left now,
  // and whatever is signed at the end of the test (the clock back at the real time) is current for openssl
  const clock = fixedClock(Date.now() - 20 * HOUR);
  const start = clock.now();
  // the first below the threshold (the complete CRL), the next two in one partition (same clock, same notAfter)
  const pki = usePartitionedPki('r', 1, [10, 10, 10], clock);
  let dp: string;
  beforeAll(() => {
    dp = pki.leaves[1]!.dp;
    expect(pki.leaves[2]!.dp).toBe(dp);
    expect(dp).toMatch(new RegExp(`^http://pki\\.test/crl/${pki.caId}/\\d+-\\d+\\.crl$`));
  });

  const partitionRuns = async () =>
    (await pki.authority.maintenance.refreshCrls({ refreshBeforeMs: HOUR })).refreshed.filter((r) => r.partition);

  it('re-signs it with a new CRL number, its IDP and the revocations since; openssl verifies it', async () => {
    const [first] = await partitionRuns();
    expect(first, 'the first run builds the partition').toBeDefined();
    clock.advance(HOUR);
    await pki.authority.certificates.revoke(pki.leaves[1]!.id, 'keyCompromise', ACTORS.admin);
    // 23 h left: not yet due (a revocation's rebuild is the next request's, as for the complete CRL)
    expect(await partitionRuns()).toEqual([]);

    clock.advance(19 * HOUR); // 4 h before its nextUpdate: under a quarter of its 24 h validity
    const again = await partitionRuns();
    expect(again).toHaveLength(1);
    expect(again[0]!.partition).toEqual(first!.partition);
    expect(again[0]!.crlNumber).toBeGreaterThan(first!.crlNumber);

    // a relying party gets the re-signed CRL as it is (no build on the way): openssl, certtool and Go verify it
    const { status, der } = await pki.get(dp);
    expect(status).toBe(200);
    const check = crlVerifyAll(der, pki.rootPem);
    expect(check.ok, check.text).toBe(true);
    expect(crlNumberOf(check.text)).toBe(again[0]!.crlNumber);
    expect(lastUpdateOf(check.text)).toBe(Math.floor(clock.now() / 1000) * 1000);
    expect(lastUpdateOf(check.text)).toBeGreaterThan(start);
    // its issuingDistributionPoint: critical, the partition's own URL, user certificates only
    expect(check.text).toMatch(/Issuing Distribution Point: critical/);
    expect(check.text).toContain(`URI:${dp}`);
    expect(check.text).toMatch(/Only User Certificates/);
    expect([...check.go.entries.keys()]).toEqual([pki.leaves[1]!.serial.replace(/^0+/, '')]);

    // openssl verify -crl_check with the re-signed CRL: the revoked leaf is refused, its neighbour accepted
    const pem = toPem(der, 'X509 CRL');
    const revoked = opensslVerify({ leafPem: pki.leaves[1]!.pem, rootPem: pki.rootPem, crlPems: [pem] });
    expect(revoked.ok).toBe(false);
    expect(revoked.output).toMatch(/certificate revoked/);
    const good = opensslVerify({ leafPem: pki.leaves[2]!.pem, rootPem: pki.rootPem, crlPems: [pem] });
    expect(good.ok, good.output).toBe(true);
    // and the next run has nothing to re-sign
    expect(await partitionRuns()).toEqual([]);
  });
});
