import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
// jose loads with the first ACME request, not with every authority (the CLI's start-up)
import type { FlattenedJWSInput, JWK, JWSHeaderParameters } from 'jose';

const jose = () => import('jose');
import { PkiError } from '@pkim/shared';

/** JWS algorithms accepted for account keys (RFC 8555 §6.2: no `none`, no MAC). */
export const ACME_JWS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** A flattened JWS as received (RFC 8555 §6.2), its protected header decoded. */
export interface AcmeJws {
  raw: FlattenedJWSInput;
  header: JWSHeaderParameters & { nonce?: string; url?: string; jwk?: JWK; kid?: string };
}

const malformed = (m: string) => new PkiError('acme.malformed', m);

/** Parses the body of an ACME POST: a flattened JWS JSON object with exactly one signature. */
export function parseJws(body: unknown): AcmeJws {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw malformed('the request body must be a flattened JWS JSON object');
  const b = body as Record<string, unknown>;
  if ('signatures' in b) throw malformed('only the flattened JWS serialization with one signature is accepted');
  if (typeof b.protected !== 'string' || typeof b.payload !== 'string' || typeof b.signature !== 'string')
    throw malformed('the JWS needs string members protected, payload and signature');
  if ('header' in b) throw malformed('the JWS must not have an unprotected header');
  let header: AcmeJws['header'];
  try {
    header = JSON.parse(Buffer.from(b.protected, 'base64url').toString('utf8')) as AcmeJws['header'];
  } catch {
    throw malformed('the JWS protected header is not base64url-encoded JSON');
  }
  if (!header || typeof header !== 'object') throw malformed('the JWS protected header is not a JSON object');
  if (typeof header.alg !== 'string' || !(ACME_JWS_ALGORITHMS as readonly string[]).includes(header.alg))
    throw new PkiError(
      'acme.bad_signature_algorithm',
      `JWS algorithm ${JSON.stringify(header.alg)} is not supported (${ACME_JWS_ALGORITHMS.join(', ')})`,
      { details: { algorithms: [...ACME_JWS_ALGORITHMS] } },
    );
  if ((header.jwk === undefined) === (header.kid === undefined))
    throw malformed('the JWS protected header must have exactly one of jwk and kid');
  return { raw: { protected: b.protected, payload: b.payload, signature: b.signature }, header };
}

/** Checks the public key of a JWK is acceptable as an account key (RSA >= 2048, P-256/384/521, Ed25519). */
export function checkAccountJwk(jwk: JWK): JWK {
  if (!jwk || typeof jwk !== 'object') throw new PkiError('acme.bad_public_key', 'the jwk is not a JSON object');
  if ('d' in jwk || 'k' in jwk) throw new PkiError('acme.bad_public_key', 'the jwk must be a public key');
  let bits = 0;
  try {
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    if (key.asymmetricKeyType === 'rsa') bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    else if (key.asymmetricKeyType === 'ec' || key.asymmetricKeyType === 'ed25519') bits = 256;
    else throw new Error(`key type ${key.asymmetricKeyType}`);
  } catch (e) {
    throw new PkiError('acme.bad_public_key', `the jwk is not a supported public key: ${(e as Error).message}`);
  }
  if (bits < 2048 && jwk.kty === 'RSA')
    throw new PkiError('acme.bad_public_key', `RSA account keys need at least 2048 bits, this one has ${bits}`);
  return jwk;
}

/** The public members of a JWK (what the account stores). */
export function publicJwk(jwk: JWK): Record<string, unknown> {
  const keep = ['kty', 'crv', 'x', 'y', 'n', 'e'];
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => keep.includes(k)));
}

export async function jwkThumbprint(jwk: JWK): Promise<string> {
  return (await jose()).calculateJwkThumbprint(jwk, 'sha256');
}

/** Verifies the JWS signature with `jwk`; returns the decoded payload bytes. `acme.malformed` when it fails. */
export async function verifyJws(jws: AcmeJws, jwk: JWK): Promise<Uint8Array> {
  const { importJWK, flattenedVerify } = await jose();
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK({ ...jwk, alg: undefined, use: undefined, key_ops: undefined }, jws.header.alg);
  } catch (e) {
    throw new PkiError('acme.bad_public_key', `the account key cannot be used with ${jws.header.alg}: ${String(e)}`);
  }
  try {
    const r = await flattenedVerify(jws.raw, key, { algorithms: [...ACME_JWS_ALGORITHMS] });
    return r.payload;
  } catch {
    throw malformed('JWS verification error: the signature does not verify with the account key');
  }
}

/** Payload bytes → JSON object; empty payload (POST-as-GET) → undefined. */
export function payloadJson(payload: Uint8Array): Record<string, unknown> | undefined {
  if (payload.length === 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw malformed('the JWS payload is not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw malformed('the JWS payload must be a JSON object');
  return v as Record<string, unknown>;
}

/** SPKI DER of a JWK (to compare an account or revocation key with a certificate's key). */
export async function jwkSpki(jwk: JWK, alg: string): Promise<Uint8Array> {
  const { importJWK, exportSPKI } = await jose();
  const key = await importJWK(jwk, alg);
  const pem = await exportSPKI(key as Parameters<typeof exportSPKI>[0]);
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

/** Verifies an external account binding (RFC 8555 §7.3.4): an HS256/384/512 JWS over the account JWK. */
export async function verifyEab(
  eab: unknown,
  o: { url: string; accountJwk: JWK; lookup: (kid: string) => Promise<{ hmacKey: string } | undefined> },
): Promise<string> {
  const { flattenedVerify } = await jose();
  const bad = (m: string) => new PkiError('acme.unauthorized', `external account binding: ${m}`);
  if (!eab || typeof eab !== 'object') throw malformed('externalAccountBinding must be a flattened JWS object');
  const e = eab as Record<string, unknown>;
  if (typeof e.protected !== 'string' || typeof e.payload !== 'string' || typeof e.signature !== 'string')
    throw malformed('externalAccountBinding must be a flattened JWS object');
  let header: { alg?: unknown; kid?: unknown; url?: unknown; nonce?: unknown };
  try {
    header = JSON.parse(Buffer.from(e.protected, 'base64url').toString('utf8')) as typeof header;
  } catch {
    throw malformed('externalAccountBinding: the protected header is not base64url JSON');
  }
  if (header.alg !== 'HS256' && header.alg !== 'HS384' && header.alg !== 'HS512')
    throw new PkiError('acme.bad_signature_algorithm', 'external account binding must use HS256, HS384 or HS512');
  if (header.nonce !== undefined) throw malformed('externalAccountBinding must not carry a nonce');
  if (header.url !== o.url) throw bad('the url does not match the newAccount URL');
  if (typeof header.kid !== 'string') throw malformed('externalAccountBinding needs a kid');
  const key = await o.lookup(header.kid);
  if (!key) throw bad(`unknown key id ${header.kid}`);
  try {
    await flattenedVerify(
      { protected: e.protected, payload: e.payload, signature: e.signature },
      new Uint8Array(Buffer.from(key.hmacKey, 'base64url')),
      { algorithms: ['HS256', 'HS384', 'HS512'] },
    );
  } catch {
    throw bad('the MAC does not verify');
  }
  let bound: JWK;
  try {
    bound = JSON.parse(Buffer.from(e.payload, 'base64url').toString('utf8')) as JWK;
  } catch {
    throw malformed('externalAccountBinding payload is not the account JWK');
  }
  const a = Buffer.from(await jwkThumbprint(bound));
  const b = Buffer.from(await jwkThumbprint(o.accountJwk));
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw bad('it binds a different account key');
  return header.kid;
}

/** base64url(SHA-256(keyAuthorization)) — the dns-01 TXT value. */
export function dnsTxtValue(keyAuthorization: string): string {
  return createHash('sha256').update(keyAuthorization).digest('base64url');
}
