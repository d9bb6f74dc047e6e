import { z } from 'zod';
import { CERTIFICATE_EXPORT_FORMATS, TRUSTSTORE_EXPORT_FORMATS } from '@pkim/shared';
import {
  caRefSchema,
  certificateRefSchema,
  csrPemSchema,
  keyTypeInputSchema,
  sansSchema,
  ttlSchema,
} from './common-schemas';
import { certificateSchema } from './certificate-schemas';

/** Everyday certificate work (issue #16): exports, truststores, renewal, bulk, inventory. */

export const certificateExportFormatSchema = z.enum(CERTIFICATE_EXPORT_FORMATS);
export const truststoreExportFormatSchema = z.enum(TRUSTSTORE_EXPORT_FORMATS);
/** an export password (PKCS#12, JKS, encrypted PKCS#8): at least 8 characters */
export const exportPasswordSchema = z.string().min(8).max(1024);

/** REST `POST /api/v1/certificates/:ref/export` body */
export const restCertificateExportInputSchema = z
  .object({
    format: certificateExportFormatSchema,
    password: exportPasswordSchema.optional(),
    legacy: z.boolean().optional(),
    includeRoot: z.boolean().optional(),
    includeKey: z.boolean().optional(),
  })
  .strict();

export const certificateExportInputSchema = restCertificateExportInputSchema
  .extend({ ref: certificateRefSchema })
  .strict();

/** REST `POST /api/v1/cas/:id/truststore` body */
export const restTruststoreExportInputSchema = z
  .object({
    format: truststoreExportFormatSchema,
    password: exportPasswordSchema.optional(),
    legacy: z.boolean().optional(),
  })
  .strict();

export const truststoreExportInputSchema = restTruststoreExportInputSchema.extend({ ca: caRefSchema }).strict();

/** tRPC: the file as base64 (REST streams the bytes with Content-Type and Content-Disposition) */
export const exportFileSchema = z.object({
  fileName: z.string(),
  mediaType: z.string(),
  contentBase64: z.string(),
  containsPrivateKey: z.boolean(),
  warning: z.string().optional(),
});

/** REST `POST /api/v1/certificates/:ref/renew` body (tRPC `renewal.renew` adds `ref`) */
export const restCertificateRenewInputSchema = z
  .object({
    ttl: ttlSchema.optional(),
    sans: sansSchema.optional(),
    revokeOld: z.boolean().optional(),
    csrPem: csrPemSchema.optional(),
    reuseKey: z.boolean().optional(),
    keyType: keyTypeInputSchema.optional(),
    keepKey: z.boolean().optional(),
  })
  .strict();
export const certificateRenewInputSchema = restCertificateRenewInputSchema
  .extend({ ref: certificateRefSchema })
  .strict();

export const certificateRenewalSchema = z.object({
  certificate: certificateSchema,
  previous: certificateSchema,
  previousRevoked: z.boolean(),
  certificatePem: z.string(),
  chainPem: z.string(),
  privateKeyPem: z.string().optional(),
});
