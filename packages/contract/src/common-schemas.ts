import { z } from 'zod';
import { CA_KEY_TYPES, CERTIFICATE_STATUSES, KEY_BACKENDS, SSH_CA_KEY_TYPES } from './vocabulary';
import {
  ACCEPTED_REVOCATION_REASONS,
  KEY_TYPES,
  REVOCATION_REASONS,
  normalizeKeyType,
  parseDuration,
  type KeyType,
  type RevocationReason,
} from '@pkim/shared';
import {
  fromPem,
  notACsr,
  isValidCidr,
  isValidDnsConstraint,
  isValidDnsName,
  isValidEmail,
  isValidEmailConstraint,
  isValidIp,
  isValidUri,
} from '@pkim/core';

/**
 * The vocabulary every API schema uses: ids and references, key types, durations, SANs and name constraints.
 * Syntax checks are core's validators (the ones the pre-signing linter applies), never a second copy.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

export const textField = (max: number) =>
  z.string().trim().min(1).max(max).regex(NO_CONTROL_CHARS, 'control characters are not allowed');

/** Prefixed ids (`ca_…`, `crt_…`). */
export const idSchema = z
  .string()
  .min(3)
  .max(80)
  .regex(/^[a-z]+_[A-Za-z0-9]+$/, 'not a PKI Manager id');
/** CA id or unique CA name. */
export const caRefSchema = z.string().trim().min(1).max(128).regex(NO_CONTROL_CHARS);
/** certificate id, serial hex (colons allowed) or SHA-256 fingerprint */
export const certificateRefSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_:]+$/, 'expected an id, serial or fingerprint');

export const userRoleSchema = z.enum(['admin', 'operator', 'auditor', 'requester']);
/** The one key-type vocabulary: `ec-p256`, `ec-p384`, `rsa-2048`, `rsa-3072`, `rsa-4096`, `ed25519` (outputs). */
export const keyTypeSchema = z.enum(KEY_TYPES);
/** Spellings of the first console version, still accepted on input and normalised to the vocabulary. */
export const LEGACY_KEY_TYPE_NAMES = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-4096'] as const;
const canonicalKeyType = (v: string): KeyType => {
  const k = normalizeKeyType(v);
  if (!k) throw new Error(`key type '${v}' is not in the vocabulary`); // unreachable: every enum member normalises
  return k;
};
/** A key type on input: the vocabulary or a legacy spelling, normalised (the procedure sees `ec-p256`…). */
export const keyTypeInputSchema = z.enum([...KEY_TYPES, ...LEGACY_KEY_TYPE_NAMES]).transform(canonicalKeyType);
/** A CA key type on input (`ca.create`): one of CA_KEY_TYPES or its legacy spelling, normalised. */
export const caKeyTypeSchema = z.enum([...CA_KEY_TYPES, ...LEGACY_KEY_TYPE_NAMES]).transform(canonicalKeyType);
/** An SSH CA key type. */
export const sshCaKeyTypeSchema = z.enum(SSH_CA_KEY_TYPES);
export const keyBackendSchema = z.enum(KEY_BACKENDS);
/** reasons a caller may revoke with (RFC 5280 minus removeFromCRL, aACompromise, certificateHold) */
export const revocationReasonSchema = z.enum(ACCEPTED_REVOCATION_REASONS);
/** reasons as stored (output): rows written by older versions may carry any RFC 5280 reason */
export const storedRevocationReasonSchema = z.enum(
  Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]],
);

export const caStatusSchema = z.enum(['active', 'pending', 'disabled', 'expired', 'revoked']);
export const certificateStatusSchema = z.enum(CERTIFICATE_STATUSES);
export const requestStatusSchema = z.enum(['pending', 'approved', 'rejected', 'issued']);

export const subjectSchema = z
  .object({
    commonName: textField(64),
    organization: textField(64).optional(),
    organizationalUnit: textField(64).optional(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'country is a 2-letter ISO 3166 code, e.g. US')
      .optional(),
    state: textField(128).optional(),
    locality: textField(128).optional(),
  })
  .strict();

/** A DNS name (a wildcard `*.` only as the whole left-most label, never `*.com`): core's `isValidDnsName`. */
export const dnsNameSchema = z
  .string()
  .max(253)
  .refine((v) => isValidDnsName(v), 'not a DNS name');
/** `example.com` or `.example.com`: core's `isValidDnsConstraint`. */
export const dnsConstraintSchema = z.string().max(253).refine(isValidDnsConstraint, 'not a DNS name constraint');
export const ipAddressSchema = z.string().max(45).refine(isValidIp, 'not an IP address');
export const cidrSchema = z.string().max(64).refine(isValidCidr, 'expected CIDR, e.g. 10.0.0.0/8');
export const uriSchema = z.string().max(2048).refine(isValidUri, 'not an absolute URI');
export const emailSchema = z.string().max(254).refine(isValidEmail, 'not an e-mail address');
const emailConstraint = z
  .string()
  .max(254)
  .refine(isValidEmailConstraint, 'not an e-mail constraint (a mailbox, a host or .domain)');

export const sansSchema = z
  .object({
    dns: z.array(dnsNameSchema).max(100).optional(),
    ip: z.array(ipAddressSchema).max(100).optional(),
    uri: z.array(uriSchema).max(100).optional(),
    email: z.array(emailSchema).max(100).optional(),
  })
  .strict();

/** SANs as stored (output): no syntax checks, the certificate already carries them */
export const sansOutputSchema = z.object({
  dns: z.array(z.string()).optional(),
  ip: z.array(z.string()).optional(),
  uri: z.array(z.string()).optional(),
  email: z.array(z.string()).optional(),
});

export const nameConstraintsSchema = z
  .object({
    permittedDns: z.array(dnsConstraintSchema).max(100).optional(),
    excludedDns: z.array(dnsConstraintSchema).max(100).optional(),
    permittedIp: z.array(cidrSchema).max(100).optional(),
    excludedIp: z.array(cidrSchema).max(100).optional(),
    // URI constraints name a host or .domain (RFC 5280 §4.2.1.10), like DNS constraints
    permittedUri: z.array(dnsConstraintSchema).max(100).optional(),
    excludedUri: z.array(dnsConstraintSchema).max(100).optional(),
    permittedEmail: z.array(emailConstraint).max(100).optional(),
    excludedEmail: z.array(emailConstraint).max(100).optional(),
    // PKI Manager policy, not encoded: URI SANs below the CA start with one of these (SPIFFE CAs)
    permittedUriPrefixes: z.array(z.string().min(1).max(2048)).max(100).optional(),
  })
  .strict();

/** a text without a PEM certificate request refused in the authority's words (parseCsr's: one message everywhere) */
function csrProblem(input: unknown): string {
  try {
    fromPem(String(input), 'CERTIFICATE REQUEST', { alone: true });
  } catch (e) {
    return notACsr(e);
  }
  return 'not a CSR: expected a PEM certificate request';
}
export const csrPemSchema = z
  .string()
  .max(64 * 1024)
  .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, { error: (issue) => csrProblem(issue.input) });
export const certificatePemSchema = z
  .string()
  .max(64 * 1024)
  .regex(/-----BEGIN CERTIFICATE-----/, 'expected a PEM certificate');
export const profileNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'not a profile name');
/** validity in days (1 day .. 100 years) */
export const validityDaysSchema = z.number().int().min(1).max(36_500);
/** duration text like `90d`, `24h`, `1y` */
export const durationSchema = z
  .string()
  .trim()
  .max(32)
  .regex(/^\d+\s*[smhdwy]?$/i, 'expected a duration such as 90d, 24h or 1y')
  .refine((v) => {
    try {
      parseDuration(v);
      return true;
    } catch {
      return false;
    }
  }, 'durations are positive and at most 36500d (100 years)');

export const paginationInputSchema = z.object({
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(512).nullable().optional(),
});

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const timestampSchema = z.number().int();
export const okSchema = z.object({ ok: z.literal(true) });

/** A point in time on the wire: an RFC 3339 string in UTC (`2026-03-01T12:00:00.000Z`). */
export const rfc3339Schema = z.iso.datetime({ offset: true });

/**
 * A lifetime on input: a duration string (`90d`, `24h`, `1y`) or a whole number of SECONDS. {@link ttlToMs} turns
 * either into milliseconds.
 */
export const ttlSchema = z.union([
  durationSchema,
  z
    .number()
    .int()
    .positive()
    .max(36_500 * 86_400, 'durations are at most 36500d (100 years)'),
]);
export type Ttl = z.infer<typeof ttlSchema>;
export const ttlToMs = (ttl: Ttl): number => (typeof ttl === 'number' ? ttl * 1000 : parseDuration(ttl));
