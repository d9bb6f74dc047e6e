import { z } from 'zod';
import { KEY_TYPES } from '../key-types';
import { parseDuration } from '../duration';
import { ACCEPTED_REVOCATION_REASONS, REVOCATION_REASONS, type RevocationReason } from '../revocation';

/** Zod schemas shared by the server (tRPC input/output) and the web console. */

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
export const keyTypeSchema = z.enum(KEY_TYPES);
/** Key types offered when creating a CA (ca-create-endpoint). */
export const caKeyTypeSchema = z.enum(['RSA-2048', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384']);
export const keyBackendSchema = z.enum(['software', 'pkcs11', 'kmip']);
/** reasons a caller may revoke with (RFC 5280 minus removeFromCRL, aACompromise, certificateHold) */
export const revocationReasonSchema = z.enum(ACCEPTED_REVOCATION_REASONS);
/** reasons as stored (output): rows written by older versions may carry any RFC 5280 reason */
export const storedRevocationReasonSchema = z.enum(
  Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]],
);

export const caStatusSchema = z.enum(['active', 'pending', 'disabled', 'expired', 'revoked']);
export const certificateStatusSchema = z.enum(['active', 'revoked', 'expired']);
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

const hostname = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    'not a DNS name',
  );
const dnsConstraint = z
  .string()
  .max(253)
  .regex(
    /^\.?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    'not a DNS name constraint',
  );
const cidr = z
  .string()
  .max(64)
  .regex(/^[0-9A-Fa-f:.]+\/\d{1,3}$/, 'expected CIDR, e.g. 10.0.0.0/8');
const ip = z.union([z.ipv4(), z.ipv6()]);

export const sansSchema = z
  .object({
    dns: z.array(hostname).max(100).optional(),
    ip: z.array(ip).max(100).optional(),
    uri: z.array(z.url().max(2048)).max(100).optional(),
    email: z.array(z.email().max(254)).max(100).optional(),
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
    permittedDns: z.array(dnsConstraint).max(100).optional(),
    excludedDns: z.array(dnsConstraint).max(100).optional(),
    permittedIp: z.array(cidr).max(100).optional(),
    excludedIp: z.array(cidr).max(100).optional(),
    permittedUri: z.array(z.string().min(1).max(253)).max(100).optional(),
    excludedUri: z.array(z.string().min(1).max(253)).max(100).optional(),
    permittedEmail: z.array(z.string().min(1).max(254)).max(100).optional(),
    excludedEmail: z.array(z.string().min(1).max(254)).max(100).optional(),
  })
  .strict();

export const csrPemSchema = z
  .string()
  .max(64 * 1024)
  .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'expected a PEM certificate request');
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
