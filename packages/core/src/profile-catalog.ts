/** Built-in certificate profiles and the schema for custom profiles defined as data. */
import { KEY_TYPES, PkiError, keyTypeNotAllowedMessage } from '@pkim/shared';
import type { Profile } from './types';
import type { buildProfileSchema } from './profile-schema';

const H = 3_600_000;
const D = 24 * H;
const Y = 365 * D;
const ALL = [...KEY_TYPES];

export type BuiltInProfileName =
  | 'root-ca'
  | 'intermediate-ca'
  | 'tls-server'
  | 'tls-client'
  | 'tls-server-client'
  | 'code-signing'
  | 'email-protection'
  | 'ocsp-signing'
  | 'spiffe-svid'
  | 'vault-role';

export const BUILT_IN_PROFILES: Readonly<Record<BuiltInProfileName, Profile>> = {
  'root-ca': {
    name: 'root-ca',
    description: 'Self-signed root CA',
    isCa: true,
    pathLen: null,
    keyUsage: ['keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    allowedSanTypes: [],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 10 * Y,
    maxLifetimeMs: 25 * Y,
  },
  'intermediate-ca': {
    name: 'intermediate-ca',
    description: 'Subordinate CA that issues end-entity certificates (pathLen 0)',
    isCa: true,
    pathLen: 0,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    allowedSanTypes: [],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 5 * Y,
    maxLifetimeMs: 10 * Y,
  },
  'tls-server': {
    name: 'tls-server',
    description: 'TLS server (serverAuth); DNS/IP SANs',
    isCa: false,
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extKeyUsage: ['serverAuth'],
    allowedSanTypes: ['dns', 'ip'],
    sanRequired: true,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 90 * D,
    maxLifetimeMs: 398 * D,
  },
  'tls-client': {
    name: 'tls-client',
    description: 'TLS client (clientAuth)',
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
    allowedSanTypes: ['dns', 'ip', 'uri', 'email'],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 365 * D,
    maxLifetimeMs: 825 * D,
  },
  'tls-server-client': {
    name: 'tls-server-client',
    description: 'TLS server and client (mTLS between services)',
    isCa: false,
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extKeyUsage: ['serverAuth', 'clientAuth'],
    allowedSanTypes: ['dns', 'ip', 'uri'],
    sanRequired: true,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 90 * D,
    maxLifetimeMs: 398 * D,
  },
  'code-signing': {
    name: 'code-signing',
    description: 'Code signing',
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['codeSigning'],
    allowedSanTypes: ['email', 'uri'],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 365 * D,
    maxLifetimeMs: 3 * Y,
  },
  'email-protection': {
    name: 'email-protection',
    description: 'S/MIME signing (and RSA encryption); email SAN required',
    isCa: false,
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    rsaKeyUsage: ['keyEncipherment'],
    extKeyUsage: ['emailProtection'],
    allowedSanTypes: ['email'],
    sanRequired: true,
    requiredSanTypes: ['email'],
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 365 * D,
    maxLifetimeMs: 825 * D,
  },
  'ocsp-signing': {
    name: 'ocsp-signing',
    description: 'Delegated OCSP responder (id-pkix-ocsp-nocheck)',
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['OCSPSigning'],
    allowedSanTypes: [],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 30 * D,
    maxLifetimeMs: 365 * D,
    extensions: ['ocspNoCheck'],
  },
  'vault-role': {
    name: 'vault-role',
    description:
      'Leaf issued through a Vault/OpenBao-compatible role: key usage and EKU come from the role, lifetime ' +
      'from its ttl/max_ttl and the mount',
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth', 'clientAuth'],
    allowedSanTypes: ['dns', 'ip', 'uri', 'email'],
    sanRequired: false,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: 32 * D,
    maxLifetimeMs: 10 * Y,
  },
  'spiffe-svid': {
    name: 'spiffe-svid',
    description: 'SPIFFE X.509-SVID: exactly one spiffe:// URI SAN',
    isCa: false,
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extKeyUsage: ['serverAuth', 'clientAuth'],
    allowedSanTypes: ['uri', 'dns'],
    sanRequired: true,
    requiredSanTypes: ['uri'],
    allowedUriSchemes: ['spiffe'],
    maxUriSans: 1,
    allowedKeyTypes: ALL,
    defaultLifetimeMs: H,
    // 24 h from issuance, plus the one-minute backdating of notBefore (clock skew)
    maxLifetimeMs: 24 * H + 60_000,
  },
};

let builtProfileSchema: ReturnType<typeof buildProfileSchema> | undefined;

/**
 * zod schema for custom profiles stored as data (JSON/YAML). zod loads and the schema is built on first use, not
 * when the module loads: every CLI command loads core, few validate a profile (start-up time, docs/benchmarks.md).
 */
export async function profileSchema(): Promise<ReturnType<typeof buildProfileSchema>> {
  const { buildProfileSchema: build } = await import('./profile-schema');
  return (builtProfileSchema ??= build());
}

/** Validates a custom profile definition; rejects with `profile.invalid` and the zod issues in details. */
export async function parseProfile(data: unknown): Promise<Profile> {
  const r = (await profileSchema()).safeParse(data);
  if (!r.success) {
    throw new PkiError(
      'profile.invalid',
      `invalid profile: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        details: { issues: r.error.issues },
      },
    );
  }
  return r.data;
}

/** The one wording of `policy.key_type_not_allowed`: in @pkim/shared's key-types, which the web console reads too. */
export { keyTypeNotAllowedMessage };

/**
 * A built-in profile or one of `custom` (custom profiles shadow built-ins of the same name). Throws
 * `profile.not_found`.
 */
export function resolveProfile(name: string, custom: Profile[] = []): Profile {
  const c = custom.find((p) => p.name === name);
  if (c) return c;
  if (Object.prototype.hasOwnProperty.call(BUILT_IN_PROFILES, name))
    return BUILT_IN_PROFILES[name as BuiltInProfileName];
  throw new PkiError('profile.not_found', `no such certificate profile '${name}'`, {
    details: { name, available: [...Object.keys(BUILT_IN_PROFILES), ...custom.map((p) => p.name)] },
  });
}
