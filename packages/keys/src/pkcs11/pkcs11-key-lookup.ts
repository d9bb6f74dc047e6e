/**
 * Finding keys on the token from their RFC 7512 URI (`pkcs11:token=…;id=%xx…;object=…`): the CKA_ID
 * identifies the key (`object` is informative and used only when there is no id), the token must be
 * the one this backend serves, and exactly one private key must match. Private-key handles are cached
 * per URI (the cache is cleared when the session pool reconnects or closes).
 */
import * as graphene from 'graphene-pk11';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { CKA_EC_PARAMS, CKK_EC, CKK_RSA, keyTypeOfEcParams, publicKeyDer } from './pkcs11-mechanisms';
import type { Pkcs11Connection } from './pkcs11-session-pool';
import { isPkcs11Uri, parsePkcs11Uri } from './pkcs11-uri';

export interface CachedPkcs11Key {
  handle: Buffer;
  keyType: KeyType;
}

export interface KeySelector {
  id?: Buffer;
  label?: string;
}

/** The selector of a key URI on this connection's token; kms.key_not_found for a URI that names no key here. */
export function keySelectorOf(uri: string, c: Pkcs11Connection): KeySelector {
  if (!isPkcs11Uri(uri)) throw new PkiError('kms.key_not_found', `not a PKCS#11 key URI: ${uri}`, { details: { uri } });
  let u;
  try {
    u = parsePkcs11Uri(uri);
  } catch (e) {
    throw new PkiError('kms.key_not_found', `malformed PKCS#11 key URI: ${(e as Error).message}`, {
      details: { uri },
    });
  }
  if (u.token !== undefined && u.token !== c.tokenLabel) {
    throw new PkiError(
      'kms.key_not_found',
      `key ${uri} lives on token '${u.token}', this backend serves token '${c.tokenLabel}'`,
      {
        details: { uri },
      },
    );
  }
  if (u.id === undefined && u.object === undefined) {
    throw new PkiError('kms.key_not_found', `PKCS#11 key URI ${uri} has neither id nor object`, { details: { uri } });
  }
  return {
    ...(u.id !== undefined ? { id: Buffer.from(u.id) } : {}),
    ...(u.object !== undefined ? { label: u.object } : {}),
  };
}

/** Token objects of a class matching the selector (by CKA_ID when present, else by label). */
export function findObjects(
  session: graphene.Session,
  cls: graphene.ObjectClass,
  sel: KeySelector,
): graphene.SessionObject[] {
  const tmpl: graphene.ITemplate = { class: cls, token: true };
  if (sel.id) tmpl.id = sel.id;
  else if (sel.label !== undefined) tmpl.label = sel.label;
  const found = session.find(tmpl);
  const out: graphene.SessionObject[] = [];
  for (let i = 0; i < found.length; i++) out.push(found.items(i));
  return out;
}

/** PKI Manager's key type of a key object; kms.unsupported for sizes and curves it does not use. */
export function keyTypeOf(obj: graphene.SessionObject, uri: string): KeyType {
  const kt = obj.getAttribute('keyType') as number;
  if (kt === CKK_RSA) {
    const modulus = obj.getAttribute('modulus') as Buffer;
    const bits = modulus.length * 8;
    const t = (['rsa-2048', 'rsa-3072', 'rsa-4096'] as const).find((k) => KEY_TYPE_INFO[k].bits === bits);
    if (t) return t;
    throw new PkiError('kms.unsupported', `PKCS#11 key ${uri} is RSA-${bits}, which PKI Manager does not use`, {
      details: { uri },
    });
  }
  if (kt === CKK_EC) {
    // numeric CKA_EC_PARAMS: graphene maps 0x180 back to the legacy name 'paramsECDSA'
    const keyType = keyTypeOfEcParams(obj.getAttribute(CKA_EC_PARAMS));
    if (keyType) return keyType;
    throw new PkiError('kms.unsupported', `PKCS#11 key ${uri} is on an EC curve PKI Manager does not use`, {
      details: { uri },
    });
  }
  throw new PkiError(
    'kms.unsupported',
    `PKCS#11 key ${uri} has key type 0x${kt.toString(16)}, which PKI Manager does not use`,
    {
      details: { uri },
    },
  );
}

export interface Pkcs11KeyLookup {
  /** The private key of a URI (cached handle); kms.key_not_found / kms.operation_failed when not exactly one. */
  privateKey(session: graphene.Session, c: Pkcs11Connection, uri: string): CachedPkcs11Key;
  /** SubjectPublicKeyInfo DER from the public key object (or, for RSA, the private key's modulus). */
  publicKey(session: graphene.Session, c: Pkcs11Connection, uri: string): Uint8Array;
  remember(uri: string, key: CachedPkcs11Key): void;
  forget(uri: string): void;
  clear(): void;
}

export function createPkcs11KeyLookup(): Pkcs11KeyLookup {
  const cache = new Map<string, CachedPkcs11Key>();

  function privateKey(session: graphene.Session, c: Pkcs11Connection, uri: string): CachedPkcs11Key {
    const cached = cache.get(uri);
    if (cached) return cached;
    const sel = keySelectorOf(uri, c);
    const found = findObjects(session, graphene.ObjectClass.PRIVATE_KEY, sel);
    const key = found[0];
    if (key === undefined)
      throw new PkiError('kms.key_not_found', `no PKCS#11 private key for ${uri}`, { details: { uri } });
    if (found.length > 1) {
      throw new PkiError(
        'kms.operation_failed',
        `PKCS#11 key URI ${uri} matches ${found.length} private keys; make it unique (id=)`,
        {
          details: { uri },
        },
      );
    }
    const entry: CachedPkcs11Key = { handle: key.handle, keyType: keyTypeOf(key, uri) };
    cache.set(uri, entry);
    return entry;
  }

  function publicKey(session: graphene.Session, c: Pkcs11Connection, uri: string): Uint8Array {
    const key = privateKey(session, c, uri);
    const sel = keySelectorOf(uri, c);
    const pubs = findObjects(session, graphene.ObjectClass.PUBLIC_KEY, sel);
    const pub = pubs[0];
    if (pub) return publicKeyDer(pub, key.keyType, uri);
    if (KEY_TYPE_INFO[key.keyType].algorithm === 'rsa') {
      // the private key of RSA carries modulus and public exponent
      return publicKeyDer(new graphene.PrivateKey(key.handle, session, session.lib), key.keyType, uri);
    }
    throw new PkiError(
      'kms.operation_failed',
      `PKCS#11 public key object for ${uri} is missing; cannot build the SPKI`,
      { details: { uri } },
    );
  }

  return {
    privateKey,
    publicKey,
    remember: (uri, key) => void cache.set(uri, key),
    forget: (uri) => void cache.delete(uri),
    clear: () => cache.clear(),
  };
}
