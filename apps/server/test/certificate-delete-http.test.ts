// Deleting certificate records over the API (REST `DELETE /api/v1/certificates/:ref`, tRPC `certificate.delete`):
// one rule, the certificate service's — only an expired record goes (a revoked one stays on the CRL until it
// expires), for admins (`ca:write`) and within a CA-limited token's CAs; every refusal is a 4xx with its code and
// message and leaves the database as it was; a deletion is audited (`certificate.deleted`, serial and fingerprint).
// The authority's clock is moved 2 h on, so the 1 h certificates are expired and the 1 day ones are not; openssl
// checks every certificate the test issues against the root.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer } from '@pkim/server';
import { restCallFor } from '@pkim/contract';
import {
  ACTORS,
  callerFor,
  createRootCa,
  listen,
  openAuthorityFixture,
  pkiCodeOf,
  trpcError,
  type AuthorityFixture,
} from './server-test-support';
import { ocspLeaf, type OcspLeaf } from './ocsp-test-support';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { sqliteDigest } from '../../../tests/support/db-digest';

const HOUR = 3_600_000;
/** the SHA-256 fingerprint openssl reads from a PEM (lowercase hex, no colons) */
const sha256Of = (pem: string): string => {
  const r = opensslRaw(['x509', '-noout', '-fingerprint', '-sha256'], Buffer.from(pem));
  return /=([0-9A-F:]+)/.exec(r.stdout)![1]!.replace(/:/g, '').toLowerCase();
};

describe('certificate.delete over REST and tRPC', () => {
  const clock = fixedClock(Date.now());
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let db: Database.Database;
  const tokens = {} as Record<'admin' | 'operator' | 'otherCaAdmin', string>;
  const leaves = {} as Record<'active' | 'revoked' | 'expiredRest' | 'expiredTrpc' | 'revokedExpired', OcspLeaf>;

  const rest = async (token: string, method: string, url: string) => {
    const r = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const del = (ref: string, token = tokens.admin) => {
    const call = restCallFor('certificate.delete', { ref });
    return rest(token, call.method, call.url);
  };

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock });
    const a = fx.authority;
    const root = await createRootCa(a, 'del-root');
    await createRootCa(a, 'del-other');
    const issue = (name: string, validityMs: number) => ocspLeaf(a, root.id, name, validityMs);
    leaves.active = await issue('active.del.example', 24 * HOUR);
    leaves.revoked = await issue('revoked.del.example', 24 * HOUR);
    leaves.expiredRest = await issue('rest.del.example', HOUR);
    leaves.expiredTrpc = await issue('trpc.del.example', HOUR);
    leaves.revokedExpired = await issue('revoked-expired.del.example', HOUR);
    for (const [name, leaf] of Object.entries(leaves)) {
      const v = opensslVerify({ leafPem: leaf.pem, rootPem: root.pem, purpose: 'sslserver' });
      expect(v.ok, `${name}: ${v.output}`).toBe(true);
    }
    await a.certificates.revoke(leaves.revoked.id, 'superseded', ACTORS.admin);
    await a.certificates.revoke(leaves.revokedExpired.id, 'keyCompromise', ACTORS.admin);
    const token = async (name: string, role: 'admin' | 'operator', cas?: string[]) =>
      (await a.auth.createToken({ name, role, resources: cas ? { cas } : undefined }, ACTORS.admin)).token;
    tokens.admin = await token('del-admin', 'admin');
    tokens.operator = await token('del-operator', 'operator');
    tokens.otherCaAdmin = await token('del-other-admin', 'admin', ['del-other']);
    clock.advance(2 * HOUR);
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
    db = new Database(join(fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
    // a revocation re-signs the certificate's OCSP response in the background: both written before the digests
    const responses = db.prepare('SELECT count(*) AS n FROM ocsp_responses');
    while ((responses.get() as { n: number }).n < 2) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    db?.close();
    await app?.close();
    await fx?.close();
  });

  it('REST: refuses what may not go with a 4xx code and message, and changes nothing', async () => {
    const refusals: [string, string | undefined, number, string, RegExp][] = [
      ['active', undefined, 409, 'certificate.not_deletable', /is active until .*only expired certificates/],
      ['revoked', undefined, 409, 'certificate.not_deletable', /revoked but valid until .*stays on the CRL/],
      ['not a ref!', undefined, 400, 'input.invalid', /^ref: /],
      ['crt_nosuchcertificate', undefined, 404, 'certificate.not_found', /no certificate with id/],
      ['expired (operator)', tokens.operator, 403, 'auth.forbidden', /'ca:write' is not allowed/],
      ['expired (admin of another CA)', tokens.otherCaAdmin, 403, 'provisioner.ca_not_allowed', /./],
    ];
    for (const [what, token, status, code, message] of refusals) {
      const ref =
        what === 'active' || what === 'revoked'
          ? leaves[what].serial
          : what.startsWith('expired')
            ? leaves.expiredRest.id
            : encodeURIComponent(what);
      const before = sqliteDigest(db);
      const r =
        what === 'not a ref!'
          ? await rest(tokens.admin, 'DELETE', `/api/v1/certificates/${ref}`)
          : await del(ref, token);
      expect({ what, status: r.status, code: r.json.code }).toEqual({ what, status, code });
      expect(r.json.message, what).toMatch(message);
      expect(sqliteDigest(db), `${what}: refused, but the database changed`).toEqual(before);
    }
  });

  it('REST: deletes an expired record (revoked or not), answers it, audits it; then 404', async () => {
    for (const leaf of [leaves.expiredRest, leaves.revokedExpired]) {
      const r = await del(leaf.serial);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.deleted).toMatchObject({
        id: leaf.id,
        serial: leaf.serial,
        fingerprintSha256: sha256Of(leaf.pem),
      });
      const gone = await rest(tokens.admin, 'GET', `/api/v1/certificates/${leaf.id}`);
      expect(gone.status).toBe(404);
      expect(gone.json.code).toBe('certificate.not_found');
      const again = await del(leaf.id);
      expect([again.status, again.json.code]).toEqual([404, 'certificate.not_found']);
    }
    expect(leaves.revokedExpired.id).not.toBe(leaves.expiredRest.id);
    const events = await rest(tokens.admin, 'GET', '/api/v1/audit/events?action=certificate.deleted');
    expect(events.status).toBe(200);
    const deleted = (events.json.items as { target: string; details: Record<string, unknown> }[]).map((e) => ({
      target: e.target,
      serial: e.details.serial,
      fingerprint: e.details.fingerprint,
    }));
    expect(deleted).toEqual(
      [leaves.revokedExpired, leaves.expiredRest].map((l) => ({
        target: l.id,
        serial: l.serial,
        fingerprint: sha256Of(l.pem),
      })),
    );
  });

  it('tRPC: the same rule, codes and answer', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const operator = callerFor(fx.authority, ACTORS.operator);
    const ref = leaves.expiredTrpc.serial;
    expect((await trpcError(operator.certificate.delete({ ref }))).code).toBe('FORBIDDEN');
    const live = await trpcError(admin.certificate.delete({ ref: leaves.active.id }));
    expect([live.code, pkiCodeOf(live)]).toEqual(['CONFLICT', 'certificate.not_deletable']);
    const bad = await trpcError(admin.certificate.delete({ ref: 'x y' }));
    expect(bad.message).toMatch(/expected an id, serial or fingerprint/);
    expect(bad.code).toBe('BAD_REQUEST');
    const out = await admin.certificate.delete({ ref });
    expect(out.deleted).toMatchObject({ id: leaves.expiredTrpc.id, serial: ref, status: 'active' });
    const gone = await trpcError(admin.certificate.get({ ref }));
    expect([gone.code, pkiCodeOf(gone)]).toEqual(['NOT_FOUND', 'certificate.not_found']);
    // the live ones are still there
    expect((await admin.certificate.get({ ref: leaves.active.id })).status).toBe('active');
    expect((await admin.certificate.get({ ref: leaves.revoked.id })).status).toBe('revoked');
  });
});
