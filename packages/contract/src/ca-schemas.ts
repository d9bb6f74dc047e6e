import { z } from 'zod';
import { HTTP_URL_MAX, HTTP_URL_PATTERN, LEAF_NOT_AFTER_BEHAVIORS, MAX_PATH_LEN, PATH_LEN_MESSAGE } from '@pkim/shared';
import {
  caKeyTypeSchema,
  caRefSchema,
  caStatusSchema,
  durationSchema,
  keyBackendSchema,
  keyTypeSchema,
  nameConstraintsSchema,
  revocationReasonSchema,
  storedRevocationReasonSchema,
  subjectSchema,
  textField,
  pageSchema,
  validityDaysSchema,
  idSchema,
  rfc3339Schema,
  ttlSchema,
} from './common-schemas';

/** a CA's name (`pkim ca create --name`, `ca rename`): the service holds it to 1-64 characters and unique */
const caNameSchema = textField(128).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'CA names use letters, digits, space . _ -');

export const caCreateInputSchema = z
  .object({
    name: caNameSchema,
    subject: subjectSchema,
    /** default `ec-p256`, as `pkim ca create` */
    keyType: caKeyTypeSchema.default('ec-p256'),
    /** lifetime: `10y`, `3650d` or seconds */
    ttl: ttlSchema.optional(),
    /** the first version's name, still accepted: lifetime in days (`ttl` wins) */
    validityDays: validityDaysSchema.optional(),
    backend: keyBackendSchema.default('software'),
    /** parent CA id or name: creates an intermediate */
    parent: caRefSchema.optional(),
    /** the first version's name, still accepted (an alias of `parent`) */
    parentId: idSchema.optional(),
    pathLen: z
      .number(PATH_LEN_MESSAGE)
      .int(PATH_LEN_MESSAGE)
      .min(0, PATH_LEN_MESSAGE)
      .max(MAX_PATH_LEN, PATH_LEN_MESSAGE)
      .nullable()
      .optional(),
    nameConstraints: nameConstraintsSchema.optional(),
    kmsCertify: z.boolean().optional(),
  })
  .strict();
export type CaCreateInput = z.input<typeof caCreateInputSchema>;

/**
 * `ca.createExternal` (REST `POST /api/v1/cas/external`, `pkim ca create --external`): an intermediate whose key is
 * made here and whose certificate an outside CA signs — no parent, no lifetime: the outside CA decides the dates, so
 * `ttl`/`validityDays` are read only to be refused by the CA service (`input.invalid`, one reason in every mode); the
 * CA stays `pending` until `ca.importCertificate`.
 */
export const caCreateExternalInputSchema = caCreateInputSchema
  .pick({
    name: true,
    subject: true,
    keyType: true,
    backend: true,
    pathLen: true,
    nameConstraints: true,
    ttl: true,
    validityDays: true,
  })
  .strict();

/** Relying-party URLs of the certificates a CA issues (`pkim ca set-urls`, Vault `config/urls`) */
export const caUrlsSchema = z.object({
  /** the base URL all three were derived from, when they were */
  base: z.string().optional(),
  crlDistributionPoints: z.array(z.string()),
  ocspUrls: z.array(z.string()),
  caIssuersUrls: z.array(z.string()),
});
const httpUrlSchema = z
  .string()
  .trim()
  .max(HTTP_URL_MAX)
  .regex(HTTP_URL_PATTERN, 'expected an http:// or https:// URL');
/** `ca.setUrls` / REST `PUT /api/v1/cas/:ca/urls`: a base URL, lists that replace one kind each, or `clear` */
export const caSetUrlsInputSchema = z
  .object({
    base: httpUrlSchema.optional(),
    crlDistributionPoints: z.array(httpUrlSchema).max(10).optional(),
    ocspUrls: z.array(httpUrlSchema).max(10).optional(),
    caIssuersUrls: z.array(httpUrlSchema).max(10).optional(),
    clear: z.boolean().optional(),
  })
  .strict();
export const caSetUrlsTrpcInputSchema = caSetUrlsInputSchema.extend({ ref: caRefSchema }).strict();

/**
 * `ca.rename` / REST `PUT /api/v1/cas/:ca/name`: a new name (the id, certificate and bindings by id stay); the service
 * holds it to a CA name (`input.invalid`) and refuses one taken (`ca.name_taken`), as locally
 */
export const caRenameInputSchema = z.object({ ref: caRefSchema, name: textField(128) }).strict();

/**
 * `ca.setLeafNotAfterBehavior` / REST `PUT /api/v1/cas/:ca/leaf-not-after` (`pkim ca set-leaf-not-after`): what every
 * channel does with a leaf asked past the CA's notAfter — `err` refuses it, `truncate` ends it at the CA's notAfter,
 * `permit` signs it as asked (OpenBao's `leaf_not_after_behavior`); audited `ca.leaf_not_after_configured`. The value
 * is checked by the service (one message, local CLI and every transport alike: `input.invalid`).
 */
export const caSetLeafNotAfterInputSchema = z
  .object({ ref: caRefSchema, behavior: z.string().trim().max(32) })
  .strict();

/**
 * `ca.renew` (REST `POST /api/v1/cas/:id/renew`, `pkim ca renew`): a new certificate for the CA's own key — same
 * subject, key and SKI, a new serial and validity (`ttl`, or `validityDays`; default the profile's, an intermediate's
 * cut at its parent's end), signed by its parent or, a root, by itself. Answers the CA as `ca.get` does.
 */
export const caRenewInputSchema = z
  .object({ ref: caRefSchema, ttl: ttlSchema.optional(), validityDays: validityDaysSchema.optional() })
  .strict();
export type CaRenewInput = z.input<typeof caRenewInputSchema>;

/**
 * `ca.rotate` (REST `POST /api/v1/cas/:id/rotate`, `pkim ca rotate`): a successor CA with a new key (`keyType`,
 * default the old one's, in `backend`, default the old one's), the old subject (or `subject`) and a new name (default
 * `<name>-2`); a root's with a cross certificate signed by the old root. The old CA stays active unless `disableOld`.
 */
export const caRotateInputSchema = z
  .object({
    ref: caRefSchema,
    name: caNameSchema.optional(),
    subject: subjectSchema.optional(),
    keyType: caKeyTypeSchema.optional(),
    backend: keyBackendSchema.optional(),
    ttl: ttlSchema.optional(),
    validityDays: validityDaysSchema.optional(),
    disableOld: z.boolean().optional(),
  })
  .strict();
export type CaRotateInput = z.input<typeof caRotateInputSchema>;

/** one certificate of a CA's history: one a renewal replaced (`previous`), a rotated root's `cross` certificate */
export const caHistoryEntrySchema = z.object({
  kind: z.enum(['previous', 'cross']),
  serial: z.string(),
  issuer: z.string(),
  /** the CA here that signed it (itself for a self-signed root); null: an outside CA */
  issuerCaId: z.string().nullable(),
  notBefore: rfc3339Schema,
  notAfter: rfc3339Schema,
  fingerprintSha256: z.string(),
  certificatePem: z.string(),
  /** when it was replaced (`previous`) or made (`cross`) */
  at: rfc3339Schema,
  /** a cross certificate revoked on its own (`ca.revokeCross`): when and why */
  revokedAt: rfc3339Schema.optional(),
  revocationReason: z.string().optional(),
});
export type CaHistoryEntryDto = z.infer<typeof caHistoryEntrySchema>;

/** A CA on the wire (every transport, the CLI's `--json` included). */
export const caSchema = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  subject: z.string(),
  issuer: z.string(),
  /** lowercase hex; null while an external intermediate waits for its certificate */
  serial: z.string().nullable(),
  notBefore: rfc3339Schema.nullable(),
  notAfter: rfc3339Schema.nullable(),
  keyUri: z.string(),
  keyType: keyTypeSchema,
  keyBackend: z.string(),
  status: caStatusSchema,
  pathLen: z.number().int().nullable(),
  nameConstraints: nameConstraintsSchema.nullable(),
  /** the URLs put into the certificates it issues; null: none stored (the signing server's PKIM_PUBLIC_URL) */
  urls: caUrlsSchema.nullable(),
  /**
   * a leaf asked past the CA's own notAfter, on every channel: refused (`err`, the default), ended at the CA's
   * notAfter (`truncate`) or signed as asked (`permit`) — OpenBao's `leaf_not_after_behavior`, set by the Vault API's
   * `issuer/:ref` write
   */
  leafNotAfterBehavior: z.enum(LEAF_NOT_AFTER_BEHAVIORS),
  /** the CA this one succeeds (`ca.rotate`); null for every other */
  predecessorId: z.string().nullable(),
  ski: z.string().nullable(),
  fingerprintSha256: z.string().nullable(),
  crlNumber: z.number().int(),
  revokedAt: rfc3339Schema.nullable(),
  revocationReason: storedRevocationReasonSchema.nullable(),
  createdAt: rfc3339Schema,
  updatedAt: rfc3339Schema,
});
export type CaDto = z.infer<typeof caSchema>;

/** ca.create / ca.get: the CA with its certificate PEM and chain beside it */
export const caViewSchema = caSchema.extend({
  certificatePem: z.string().nullable(),
  chainPem: z.string(),
  /** a pending (external) CA: the CSR its outside CA signs (PEM) */
  csr: z.string().optional(),
  /** its other certificates, oldest first: those renewals replaced, a rotated root's cross certificate */
  history: z.array(caHistoryEntrySchema),
});
export type CaViewDto = z.infer<typeof caViewSchema>;

/** `ca.rotate`: the successor (as `ca.get`), the predecessor as it is now, a root's cross certificate (PEM) */
export const caRotateOutputSchema = caViewSchema.extend({
  predecessor: caSchema,
  crossCertificatePem: z.string().nullable(),
});
export type CaRotateOutputDto = z.infer<typeof caRotateOutputSchema>;

/** `ca.createExternal`: the pending CA and its CSR (PEM) for the outside CA */
export const caExternalSchema = caSchema.extend({ csr: z.string() });
export type CaExternalDto = z.infer<typeof caExternalSchema>;

/**
 * `ca.importCertificate` (REST `PUT /api/v1/cas/:id/certificate`, `pkim ca import`): the certificate the outside CA
 * signed for a pending CA's key (PEM); the CA becomes active. Answers the CA as `ca.get` does. The PEM is read by the
 * CA service (`certificate.invalid`, `ca.certificate_mismatch`: key, CSR subject, CA:TRUE, dates), as the local
 * command's is: one answer in both modes. Its signature must verify with a CA here (which becomes its parent: the chain
 * is recorded) or with `issuerCertificate`, the outside issuer's CA certificate or its chain up to the outside root
 * (PEM, each link verified; stored and served after the CA in every chain); else `ca.issuer_unverified`.
 */
export const caImportCertificateInputSchema = z
  .object({
    ref: caRefSchema,
    certificate: z
      .string()
      .min(1)
      .max(64 * 1024),
    issuerCertificate: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
  })
  .strict();

/**
 * `ca.importExisting` (REST `POST /api/v1/cas/import`, `pkim ca import-existing`): an existing CA — made by Vault,
 * step-ca or openssl scripts — brought with its private key (PEM PKCS#8, optionally encrypted with `keyPassword`,
 * PKCS#1 or SEC1). The CA service checks that the key is the certificate's, CA:TRUE, keyCertSign and not expired
 * (`ca.certificate_mismatch`; a certificate without a keyUsage extension only with `allowMissingKeyUsage`), reads the
 * key (`key.invalid`), and finds its issuer: itself (a self-signed root), a CA here (its parent) or
 * `issuerCertificate` (the outside chain, as `ca.importCertificate`; else `ca.issuer_unverified`). The key is kept by
 * `backend` (software: encrypted under the KEK; pkcs11: created on the token, non-extractable; kmip: registered; a
 * backend that cannot sign with it: `kms.unsupported`, nothing kept). Answers the new active CA as `ca.get` does.
 */
export const caImportExistingInputSchema = z
  .object({
    certificate: z
      .string()
      .min(1)
      .max(64 * 1024),
    privateKey: z
      .string()
      .min(1)
      .max(64 * 1024),
    keyPassword: z.string().min(1).max(1024).optional(),
    issuerCertificate: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
    /** default: the certificate's CN made a CA name */
    name: caNameSchema.optional(),
    backend: keyBackendSchema.default('software'),
    /** accept a CA certificate without a keyUsage extension (strict verifiers refuse its leaves); default false */
    allowMissingKeyUsage: z.boolean().optional(),
  })
  .strict();
export type CaImportExistingInput = z.input<typeof caImportExistingInputSchema>;

/** one entry of a CA record's certificate history (epoch ms) */
export interface CaHistoryRecord {
  kind: 'previous' | 'cross';
  serialHex: string;
  issuerDn: string;
  issuerCaId: string | null;
  notBefore: number;
  notAfter: number;
  fingerprintSha256: string;
  certificatePem: string;
  at: number;
  revokedAt?: number;
  revocationReason?: string;
}

/** The store's CA record (epoch ms) — what {@link toCaDto} maps from. */
export interface CaRecord {
  id: string;
  name: string;
  parentId: string | null;
  subjectDn: string;
  issuerDn: string;
  serialHex: string | null;
  notBefore: number | null;
  notAfter: number | null;
  keyUri: string;
  keyType: CaDto['keyType'];
  keyBackend: string;
  status: CaDto['status'];
  pathLen: number | null;
  nameConstraints: CaDto['nameConstraints'];
  urls: CaDto['urls'];
  leafNotAfterBehavior: CaDto['leafNotAfterBehavior'];
  predecessorId?: string | null;
  certificateHistory?: CaHistoryRecord[] | null;
  skiHex: string | null;
  fingerprintSha256: string | null;
  crlNumber: number;
  revokedAt: number | null;
  revocationReason: CaDto['revocationReason'];
  createdAt: number;
  updatedAt: number;
  /** an external CA's CSR (kept after the import) */
  csrPem?: string | null;
}

export const caPageSchema = pageSchema(caSchema);

/**
 * `ca.list` (REST `GET /api/v1/cas?expiringWithin=30d`, `pkim ca list --expiring-within 30d`): without input every CA;
 * with `expiringWithin` (a duration: `30d`, `720h`, `1y`) only the CAs whose certificate ends within it — those
 * already past their end included (status `expired`, the most urgent), pending and revoked ones left out — soonest
 * end first. One page (`nextCursor` null): a deployment has few CAs.
 */
export const caListInputSchema = z.object({ expiringWithin: durationSchema.optional() }).strict();
export type CaListInput = z.input<typeof caListInputSchema>;

export const caGetInputSchema = z.object({ ref: caRefSchema }).strict();
export const caSetStatusInputSchema = z.object({ id: caRefSchema, status: z.enum(['active', 'disabled']) }).strict();
export const caRevokeInputSchema = z
  .object({ id: caRefSchema, reason: revocationReasonSchema.default('unspecified') })
  .strict();
/**
 * `ca.revokeCross` (REST `POST /api/v1/cas/:id/revoke-cross`, `pkim ca revoke-cross`): a rotated root's cross
 * certificate revoked on its own — listed on the old root's CRL, `revoked` in its OCSP answers; the successor (`ref`)
 * stays as it is. Answers the successor as `ca.get` does.
 */
export const caRevokeCrossInputSchema = z
  .object({ ref: caRefSchema, reason: revocationReasonSchema.default('superseded') })
  .strict();
export type CaRevokeCrossInput = z.input<typeof caRevokeCrossInputSchema>;

export const caRevokeOutputSchema = z.object({
  ca: caSchema,
  revokedCertificates: z.number().int(),
  revokedCas: z.number().int(),
});
export const caDeleteInputSchema = z.object({ id: caRefSchema, destroyKey: z.boolean().default(false) }).strict();
/** `keyDestroyed`: the backend destroyed the key (false when not asked, or when it refused after the delete) */
/**
 * `keyDestroyed`: whether the key backend destroyed the key (asked with `destroyKey`); `keyInUseBy` (with
 * `destroyKey` only): the other CAs that use the key (the issuers of one Vault mount on one `key_ref`) — the key is
 * kept for them, not a failure: the CA is deleted, the last of them deleted with `destroyKey` destroys the key
 */
export const caDeleteOutputSchema = z.object({
  ok: z.literal(true),
  keyDestroyed: z.boolean(),
  keyInUseBy: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
});
export type CaDeleteOutputDto = z.infer<typeof caDeleteOutputSchema>;
export const caExportChainOutputSchema = z.object({ id: z.string(), chainPem: z.string() });

/** `ca.generateCrl` / `pkim crl generate`: a freshly signed CRL of a CA (PEM) and its numbers */
export const caCrlSchema = z.object({
  caId: z.string(),
  crlNumber: z.number().int(),
  thisUpdate: rfc3339Schema,
  nextUpdate: rfc3339Schema,
  pem: z.string(),
});
export type CaCrlDto = z.infer<typeof caCrlSchema>;
