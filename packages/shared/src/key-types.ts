/** Key types PKI Manager can generate and sign with. */
export const KEY_TYPES = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
/**
 * Key types an X.509 CA may be created with: every key type, on every transport (the API, the console and remote
 * `pkim ca create` as the local CLI; the root-ca and intermediate-ca profiles decide), in the console's order.
 */
export const CA_KEY_TYPES = [
  'ec-p256',
  'ec-p384',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
  'ed25519',
] as const satisfies readonly KeyType[];
/** Key types an SSH CA may be created with. */
export const SSH_CA_KEY_TYPES = ['ed25519', 'ec-p256', 'ec-p384', 'rsa-4096'] as const satisfies readonly KeyType[];

export type KeyAlgorithm = 'rsa' | 'ec' | 'ed25519';
export type HashName = 'sha256' | 'sha384' | null;

export interface KeyTypeInfo {
  algorithm: KeyAlgorithm;
  /** RSA modulus bits */
  bits?: number;
  /** node:crypto / OpenSSL curve name */
  curve?: 'prime256v1' | 'secp384r1';
  /** The hash used when this key signs X.509 objects (null for Ed25519: pure signature). */
  hash: HashName;
}

export const KEY_TYPE_INFO: Record<KeyType, KeyTypeInfo> = {
  'rsa-2048': { algorithm: 'rsa', bits: 2048, hash: 'sha256' },
  'rsa-3072': { algorithm: 'rsa', bits: 3072, hash: 'sha256' },
  'rsa-4096': { algorithm: 'rsa', bits: 4096, hash: 'sha256' },
  'ec-p256': { algorithm: 'ec', curve: 'prime256v1', hash: 'sha256' },
  'ec-p384': { algorithm: 'ec', curve: 'secp384r1', hash: 'sha384' },
  ed25519: { algorithm: 'ed25519', hash: null },
};

/**
 * Key usages a key of the algorithm cannot carry (RFC 5480, RFC 8410, RFC 4055): the certificate linter refuses
 * them (`lint.key_usage_key_type_mismatch`), the console's profile form before a profile is made that could not issue.
 */
export const KEY_USAGES_NOT_POSSIBLE: Record<KeyAlgorithm, readonly string[]> = {
  rsa: ['keyAgreement', 'encipherOnly', 'decipherOnly'],
  ec: ['keyEncipherment', 'dataEncipherment'],
  ed25519: ['keyEncipherment', 'dataEncipherment', 'keyAgreement', 'encipherOnly', 'decipherOnly'],
};

/** the key usages a key of this type cannot carry ({@link KEY_USAGES_NOT_POSSIBLE}) */
export function keyUsagesNotPossible(keyType: KeyType): readonly string[] {
  return KEY_USAGES_NOT_POSSIBLE[KEY_TYPE_INFO[keyType].algorithm];
}

/**
 * each key usage of `keyUsage` that some of `keyTypes` cannot carry, with those key types
 * ({@link keyUsagesNotPossible}): a profile with such a pair could never issue for that key type (the profile service
 * refuses it when written, the console's profile form before sending)
 */
export function keyUsageClashes<T extends KeyType>(
  keyUsage: readonly string[],
  keyTypes: readonly T[],
): { usage: string; keyTypes: T[] }[] {
  return keyUsage
    .map((usage) => ({ usage, keyTypes: keyTypes.filter((t) => keyUsagesNotPossible(t).includes(usage)) }))
    .filter((c) => c.keyTypes.length > 0);
}

/**
 * each key usage of a profile that a key type it allows cannot carry (keyEncipherment with an EC key, keyAgreement
 * with RSA: {@link keyUsageClashes}), one issue on its field each: such a profile can never issue for that key type —
 * the linter refuses every such certificate with `lint.key_usage_key_type_mismatch`. The profile service refuses
 * them when written; the profile's API object lists them as `warnings` (one stored before, or of the profiles file).
 */
export function impossibleKeyUsageIssues(profile: {
  keyUsage: readonly string[];
  rsaKeyUsage?: readonly string[];
  allowedKeyTypes: readonly string[];
}): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const keyTypes = profile.allowedKeyTypes.filter(isKeyType);
  for (const c of keyUsageClashes(profile.keyUsage, keyTypes)) {
    const hint = c.usage === 'keyEncipherment' ? ' (for RSA keys only: put it in rsaKeyUsage)' : '';
    issues.push({
      path: ['keyUsage'],
      message: `${c.usage} is not possible with ${c.keyTypes.join(', ')} keys${hint}`,
    });
  }
  const rsaKeys = keyTypes.filter((t) => t.startsWith('rsa-'));
  for (const c of keyUsageClashes(profile.rsaKeyUsage ?? [], rsaKeys)) {
    issues.push({ path: ['rsaKeyUsage'], message: `${c.usage} is not possible with RSA keys` });
  }
  return issues;
}

export function isKeyType(v: unknown): v is KeyType {
  return typeof v === 'string' && (KEY_TYPES as readonly string[]).includes(v);
}

/** Accepts the spellings users type: `ECDSA-P256`, `RSA-4096`, `ec-p256`, `p256`. */
export function normalizeKeyType(v: string): KeyType | undefined {
  const s = v.trim().toLowerCase().replace(/_/g, '-');
  const aliases: Record<string, KeyType> = {
    'ecdsa-p256': 'ec-p256',
    'ecdsa-p384': 'ec-p384',
    p256: 'ec-p256',
    p384: 'ec-p384',
    'ec-256': 'ec-p256',
    'ec-384': 'ec-p384',
    rsa2048: 'rsa-2048',
    rsa3072: 'rsa-3072',
    rsa4096: 'rsa-4096',
  };
  if (isKeyType(s)) return s;
  return aliases[s];
}

/**
 * The one wording of `policy.key_type_not_allowed` (what was asked, what the profile allows): the authority's check
 * before a key is made or a CSR signed (checkProfileKeyType), the linter's, for a CA and a leaf alike, and the web
 * console's before submit (through @pkim/contract/vocabulary: this module reaches the browser without node:crypto).
 */
export function keyTypeNotAllowedMessage(
  profile: { name: string; allowedKeyTypes: readonly string[] },
  keyType: string,
): string {
  return `profile ${profile.name} does not allow ${keyType} keys (allowed: ${profile.allowedKeyTypes.join(', ')})`;
}
