// The OCSP responder keeps answers from stored responses in memory for a moment (ocsp-service.ts, ANSWER_RECHECK_MS);
// a store read that started before a change of its certificate — a revocation, a response signed again — answers its
// request but is not kept, so the next request reads the change. The race is made deterministic by holding the read
// (holdNextStatusRead) while the change lands; every response is checked by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { checked, holdNextStatusRead, ocspLeaf, ocspPki, statusOf, type OcspPki } from './ocsp-test-support';

const MINUTE = 60_000;

/** waits (bounded) for a condition another task brings about */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('OCSP answers in memory: a read that started before a change is not kept', () => {
  // responses valid 2 h, signed again 1 h before their nextUpdate; the clock starts 90 min back, so every response
  // the tests make is current for openssl when it checks them
  const clock = fixedClock(Date.now() - 90 * MINUTE);
  let fx: AuthorityFixture;
  let authority: Authority;
  let p: OcspPki;

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock, env: { PKIM_OCSP_VALIDITY: '2h', PKIM_OCSP_REFRESH_BEFORE: '1h' } });
    authority = fx.authority;
    p = await ocspPki(authority, 'memory', 0);
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** a new leaf, its response signed ahead by the refresh job (a request reads it from the store) */
  async function presignedLeaf(cn: string) {
    const leaf = await ocspLeaf(authority, p.issuingId, cn);
    expect((await authority.maintenance.refreshOcsp()).failed).toBe(0);
    return { leaf, req: opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem }) };
  }

  /** starts answering `req`; resolves once its store read is made and held, with the answer to come */
  async function startHeld(req: Uint8Array, hold: ReturnType<typeof holdNextStatusRead>) {
    const pending = authority.ocsp.respond(req);
    await Promise.race([
      hold.readDone,
      pending.then(() => {
        throw new Error('answered without reading the store');
      }),
    ]);
    return { pending };
  }

  it('a revocation during the read: that request says good, the next one revoked', async () => {
    const { leaf, req } = await presignedLeaf('memory-revoked.example.test');
    const hold = holdNextStatusRead(authority, leaf.serial);
    try {
      const { pending } = await startHeld(req, hold);
      await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
      // the revocation's re-signing (in the background) is stored before the held read answers: nothing later
      // clears memory, the guard alone decides whether the stale answer is kept
      await until('the revoked response stored', async () => {
        const row = await hold.lookup(p.issuingId, leaf.serial);
        return row?.response !== undefined && row.response.statusKey !== 'good';
      });
      hold.release();
      const before = await pending;
      expect(statusOf(checked({ der: before.der, ...p, leafPem: leaf.pem }))).toBe('good'); // read before
      const after = await authority.ocsp.respond(req);
      const out = checked({ der: after.der, ...p, leafPem: leaf.pem });
      expect(statusOf(out)).toBe('revoked');
      expect(out).toMatch(/Reason: keyCompromise/);
    } finally {
      hold.restore();
    }
  });

  it('its response signed again during the read: that request gets the old one, the next one the new', async () => {
    const { leaf, req } = await presignedLeaf('memory-resigned.example.test');
    const old = (await internalsOf(authority).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!;
    clock.advance(61 * MINUTE); // past its refresh time (1 h before its nextUpdate)
    const hold = holdNextStatusRead(authority, leaf.serial);
    try {
      const { pending } = await startHeld(req, hold);
      expect((await authority.maintenance.refreshOcsp()).signed).toBeGreaterThan(0);
      const fresh = (await hold.lookup(p.issuingId, leaf.serial))!.response!;
      expect(fresh.thisUpdate).toBe(clock.now());
      expect(fresh.der).not.toBe(old.der);
      hold.release();
      const before = await pending;
      expect(Buffer.from(before.der).equals(Buffer.from(old.der, 'base64'))).toBe(true);
      expect(statusOf(checked({ der: before.der, ...p, leafPem: leaf.pem }))).toBe('good');
      const after = await authority.ocsp.respond(req);
      expect(Buffer.from(after.der).equals(Buffer.from(fresh.der, 'base64'))).toBe(true);
      expect(statusOf(checked({ der: after.der, ...p, leafPem: leaf.pem }))).toBe('good');
    } finally {
      hold.restore();
    }
  });
});
