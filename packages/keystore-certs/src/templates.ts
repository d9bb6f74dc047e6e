import { PkiError } from '@pkim/shared';

/** The key types of a template (the CLI's `--key-type` parser offers and checks exactly these). */
export const TEMPLATE_KEY_TYPES = ['rsa', 'ec', 'ed25519'] as const;

/** How the client certificate of one keystore type is requested (the requirement's `certificate_templates`). */
export interface CertificateTemplate {
  /** `{tenant_id}` is replaced by the tenant id */
  commonNamePattern: string;
  /** extra DNS SANs (patterns too); the requirement adds `tenant-{tenant_id}.internal` */
  altNamePatterns: string[];
  keyType: (typeof TEMPLATE_KEY_TYPES)[number];
  /** RSA: 2048/3072/4096; EC: 256/384 */
  keyBits: number;
  /** Vault duration: `8760h`, `30d`, seconds */
  ttl: string;
  /** the Vault role the request goes to; default: the manager's role */
  role?: string;
}

/** Built-in templates, from the requirement document (a custom template of the same type replaces one). */
export const DEFAULT_TEMPLATES: Readonly<Record<string, CertificateTemplate>> = {
  thales_luna: {
    commonNamePattern: 'tenant-{tenant_id}-thales.keystore.internal',
    altNamePatterns: ['tenant-{tenant_id}.internal'],
    keyType: 'rsa',
    keyBits: 4096,
    ttl: '8760h',
  },
  aws_kms: {
    commonNamePattern: 'tenant-{tenant_id}-aws.keystore.internal',
    altNamePatterns: ['tenant-{tenant_id}.internal'],
    keyType: 'ec',
    keyBits: 256,
    ttl: '4380h',
  },
};

/** tenant ids become DNS labels in the certificate: lowercase letters, digits and inner hyphens, ≤ 40 chars */
export const TENANT_ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const KEYSTORE_TYPE_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function checkTenantId(tenantId: string): void {
  if (!TENANT_ID_RE.test(tenantId)) {
    throw new PkiError(
      'keystore.invalid_input',
      `invalid tenant id '${tenantId}': 1-40 lowercase letters, digits or inner hyphens (it becomes a DNS label)`,
    );
  }
}

export function checkKeystoreType(type: string): void {
  if (!KEYSTORE_TYPE_RE.test(type)) {
    throw new PkiError(
      'keystore.invalid_input',
      `invalid keystore type '${type}': lowercase letters, digits, '_' or '-', up to 63 characters`,
    );
  }
}

const KEY_BITS: Record<(typeof TEMPLATE_KEY_TYPES)[number], number[]> = {
  rsa: [2048, 3072, 4096],
  ec: [256, 384],
  ed25519: [0, 256],
};

/** Validates a template given by a user; returns it normalised. */
export function checkTemplate(t: Partial<CertificateTemplate>): CertificateTemplate {
  const bad = (m: string) => new PkiError('keystore.invalid_input', `invalid template: ${m}`);
  if (!t.commonNamePattern?.includes('{tenant_id}')) {
    throw bad('commonNamePattern must contain {tenant_id}');
  }
  const keyType = t.keyType ?? 'ec';
  if (!(keyType in KEY_BITS)) throw bad(`keyType must be rsa, ec or ed25519, got ${String(keyType)}`);
  const keyBits = t.keyBits ?? (keyType === 'rsa' ? 2048 : keyType === 'ec' ? 256 : 0);
  if (!KEY_BITS[keyType].includes(keyBits)) throw bad(`${keyType} keys have ${KEY_BITS[keyType].join('/')} bits`);
  const ttl = t.ttl ?? '8760h';
  if (!/^(\d+[smhd]|\d+)$/.test(ttl)) throw bad(`ttl must be a duration like 8760h, 30d or seconds, got ${ttl}`);
  const out: CertificateTemplate = {
    commonNamePattern: t.commonNamePattern,
    altNamePatterns: t.altNamePatterns ?? [],
    keyType,
    keyBits,
    ttl,
  };
  if (t.role) out.role = t.role;
  // a sample expansion must be a valid host name
  for (const name of [out.commonNamePattern, ...out.altNamePatterns]) {
    const sample = expand(name, 'tenant-1');
    if (
      !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(sample)
    ) {
      throw bad(`'${name}' does not make a host name`);
    }
  }
  return out;
}

export function expand(pattern: string, tenantId: string): string {
  return pattern.replaceAll('{tenant_id}', tenantId);
}

/** Duration of a Vault ttl string in ms. */
export function ttlMs(ttl: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(ttl);
  if (!m) throw new PkiError('keystore.invalid_input', `invalid ttl ${ttl}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}

/** The Vault `issue` request of a template for one tenant (the requirement's `prepare_certificate_request`). */
export function certificateRequest(t: CertificateTemplate, tenantId: string): Record<string, unknown> {
  return {
    common_name: expand(t.commonNamePattern, tenantId),
    alt_names: t.altNamePatterns.map((p) => expand(p, tenantId)).join(','),
    key_type: t.keyType,
    key_bits: t.keyBits,
    ttl: t.ttl,
    format: 'pem',
    private_key_format: 'pkcs8',
  };
}

/** The Vault role a template issues through unless it names one: `keystore-<type>`. */
export function roleName(keystoreType: string, t: CertificateTemplate): string {
  return t.role ?? `keystore-${keystoreType}`;
}

/**
 * The Vault role that fits a template (Vault takes key type and size from the role, not from the request):
 * client auth only, the template's key, its names' parent domains with sub-domains, max_ttl = the template's ttl.
 * `pkim keystore init-roles` writes one per template.
 */
export function roleForTemplate(t: CertificateTemplate): Record<string, unknown> {
  const domains = new Set<string>();
  for (const p of [t.commonNamePattern, ...t.altNamePatterns]) {
    const parent = expand(p, 'x').split('.').slice(1).join('.');
    if (parent) domains.add(parent);
  }
  const seconds = ttlMs(t.ttl) / 1000;
  return {
    allowed_domains: [...domains].join(','),
    allow_subdomains: true,
    allow_bare_domains: false,
    allow_ip_sans: false,
    allow_localhost: false,
    enforce_hostnames: true,
    server_flag: false,
    client_flag: true,
    key_type: t.keyType,
    key_bits: t.keyBits,
    max_ttl: `${seconds}s`,
    ttl: `${seconds}s`,
  };
}
