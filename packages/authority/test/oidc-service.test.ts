// ID token verification and role mapping of the OIDC sign-in (the browser flow: apps/web/test/oidc-e2e-*.test.ts).
import { describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { PkiError } from '@pkim/shared';
import { mapRole, oidcConfigFromEnv, parseRoleMap, verifyIdToken } from '../src/index';

const ISSUER = 'https://sso.example.com/realms/pki';
const CLIENT = 'pkim-console';
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, jwk };
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

async function idToken(
  key: PrivateKey,
  kid: string,
  o: { aud?: string | string[]; iss?: string; iat?: number; exp?: number; nonce?: string; azp?: string } = {},
) {
  const jwt = new SignJWT({ nonce: o.nonce ?? 'n-123', groups: ['pki-admins'], ...(o.azp ? { azp: o.azp } : {}) })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setSubject('user-42')
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? CLIENT)
    .setIssuedAt(Math.floor((o.iat ?? NOW) / 1000))
    .setExpirationTime(Math.floor((o.exp ?? NOW + 300_000) / 1000));
  return jwt.sign(key);
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PkiError);
    return { code: (e as PkiError).code, message: (e as PkiError).message };
  }
  throw new Error('expected a refusal');
}

describe('OIDC ID token verification (jose, JWKS)', () => {
  it('accepts a token signed by a key of the JWKS with the right issuer, audience, nonce and lifetime', async () => {
    const k = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [k.jwk] });
    const token = await idToken(k.privateKey, 'k1');
    const claims = await verifyIdToken(token, { keys, issuer: ISSUER, audience: CLIENT, now: NOW, nonce: 'n-123' });
    expect(claims).toMatchObject({ sub: 'user-42', groups: ['pki-admins'] });
  });

  it('refuses a token with a bad signature (signed by a key that is not in the JWKS under that kid)', async () => {
    const good = await keyPair('k1');
    const attacker = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [good.jwk] });
    const token = await idToken(attacker.privateKey, 'k1');
    const r = await refusal(verifyIdToken(token, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    expect(r).toEqual({ code: 'auth.oidc_invalid_token', message: 'the ID token signature does not verify' });
    // and a token whose payload was altered after signing
    const valid = await idToken(good.privateKey, 'k1');
    const [h, , s] = valid.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: CLIENT, exp: NOW / 1000 + 60 }));
    const tampered = `${h}.${forged.toString('base64url')}.${s}`;
    const r2 = await refusal(verifyIdToken(tampered, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    expect(r2.code).toBe('auth.oidc_invalid_token');
  });

  it('refuses a token for another audience', async () => {
    const k = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [k.jwk] });
    const token = await idToken(k.privateKey, 'k1', { aud: 'another-app' });
    const r = await refusal(verifyIdToken(token, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    // the message names both audiences, so the log line and the audit event say what to fix
    expect(r).toEqual({
      code: 'auth.oidc_invalid_token',
      message:
        "the ID token is for another client: its audience (aud) is 'another-app', not " +
        `'${CLIENT}', this server's client id (PKIM_OIDC_CLIENT_ID)`,
    });
    // several audiences: azp must name this client
    const multi = await idToken(k.privateKey, 'k1', { aud: [CLIENT, 'other'], azp: 'other' });
    const r2 = await refusal(verifyIdToken(multi, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    expect(r2).toEqual({ code: 'auth.oidc_invalid_token', message: 'ID token claim azp does not name this client' });
  });

  it('refuses an expired token (beyond the clock tolerance) and one from another issuer', async () => {
    const k = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [k.jwk] });
    const expired = await idToken(k.privateKey, 'k1', { iat: NOW - 3_600_000, exp: NOW - 120_000 });
    const r = await refusal(verifyIdToken(expired, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    expect(r).toEqual({ code: 'auth.oidc_invalid_token', message: 'the ID token has expired' });
    // within the tolerance (60 s by default) it is still accepted
    const justExpired = await idToken(k.privateKey, 'k1', { iat: NOW - 3_600_000, exp: NOW - 30_000 });
    await expect(
      verifyIdToken(justExpired, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }),
    ).resolves.toBeTruthy();
    const other = await idToken(k.privateKey, 'k1', { iss: 'https://evil.example.com' });
    const r2 = await refusal(verifyIdToken(other, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }));
    expect(r2.code).toBe('auth.oidc_invalid_token');
    expect(r2.message).toMatch(/iss/);
  });

  it('refuses a token whose nonce is not the one of this sign-in (replay)', async () => {
    const k = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [k.jwk] });
    const token = await idToken(k.privateKey, 'k1', { nonce: 'from-another-login' });
    const r = await refusal(verifyIdToken(token, { keys, issuer: ISSUER, audience: CLIENT, now: NOW, nonce: 'n-123' }));
    expect(r).toEqual({ code: 'auth.oidc_invalid_token', message: 'the ID token nonce does not match this sign-in' });
  });

  it('refuses an unsigned token (alg none) and a symmetric one', async () => {
    const k = await keyPair('k1');
    const keys = createLocalJWKSet({ keys: [k.jwk] });
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = { sub: 'admin', iss: ISSUER, aud: CLIENT, iat: NOW / 1000, exp: NOW / 1000 + 60 };
    const none = `${b64({ alg: 'none' })}.${b64(payload)}.`;
    expect((await refusal(verifyIdToken(none, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }))).code).toBe(
      'auth.oidc_invalid_token',
    );
    const hs = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('a-shared-secret-of-thirty-two-bytes!'));
    expect((await refusal(verifyIdToken(hs, { keys, issuer: ISSUER, audience: CLIENT, now: NOW }))).code).toBe(
      'auth.oidc_invalid_token',
    );
  });
});

describe('OIDC role mapping and settings', () => {
  const map = { roleMap: parseRoleMap('pki-admins=admin, pki-ops=operator,auditors=auditor') };

  it('takes the most powerful mapped role among the claim values', () => {
    expect(mapRole(['staff', 'pki-ops', 'pki-admins'], map)).toBe('admin');
    expect(mapRole(['pki-ops', 'auditors'], map)).toBe('operator');
    expect(mapRole('auditors', map)).toBe('auditor');
    expect(mapRole(['marketing'], map)).toBeUndefined();
    expect(mapRole(undefined, map)).toBeUndefined();
    expect(mapRole(['marketing'], { ...map, defaultRole: 'requester' })).toBe('requester');
  });

  it('reads PKIM_OIDC_* and refuses incomplete or malformed settings', () => {
    expect(oidcConfigFromEnv({})).toBeUndefined();
    const c = oidcConfigFromEnv({
      PKIM_OIDC_ISSUER: 'https://sso.example.com/',
      PKIM_OIDC_CLIENT_ID: 'pkim',
      PKIM_OIDC_ROLE_MAP: 'a=admin',
      PKIM_OIDC_DEFAULT_ROLE: 'requester',
    });
    expect(c).toMatchObject({
      issuer: 'https://sso.example.com',
      clientId: 'pkim',
      displayName: 'sso.example.com',
      roleClaim: 'groups',
      roleMap: { a: 'admin' },
      defaultRole: 'requester',
    });
    expect(() => oidcConfigFromEnv({ PKIM_OIDC_ISSUER: 'https://sso.example.com' })).toThrow(/PKIM_OIDC_CLIENT_ID/);
    expect(() => oidcConfigFromEnv({ PKIM_OIDC_CLIENT_ID: 'x' })).toThrow(/PKIM_OIDC_ISSUER/);
    expect(() =>
      oidcConfigFromEnv({ PKIM_OIDC_ISSUER: 'https://s', PKIM_OIDC_CLIENT_ID: 'x', PKIM_OIDC_ROLE_MAP: 'a=root' }),
    ).toThrow(/unknown role 'root'/);
    expect(() => oidcConfigFromEnv({ PKIM_OIDC_ISSUER: 'ftp://s', PKIM_OIDC_CLIENT_ID: 'x' })).toThrow(/https URL/);
  });
});
