import { createPrivateKey } from 'node:crypto';
import type { Zippable } from 'fflate';
import type { Logger } from 'pino';
import { PkiError, certificateBaseName, type Clock } from '@pkim/shared';
import { fromPem, splitPemBundle } from '@pkim/core';
import type { CaRow, CertificateRow, Store } from '@pkim/store';
import { authorize } from '../permissions';
import { auditEvent } from '../audit-service';
import { findCaByRef, recordFailure, type CaContextLoader } from '../ca-context';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import type { Actor } from '../types';
import type { KeySealer } from './key-sealer';
import {
  CERTIFICATE_EXPORT_FORMATS,
  TRUSTSTORE_EXPORT_FORMATS,
  type CertificateExportFormat,
  type TruststoreExportFormat,
} from '@pkim/shared';
// the encoders (PKCS#12, PKCS#7, JKS, ZIP over @peculiar/asn1-pfx, -cms, asn1js, fflate) load with the first export,
// not with every authority (the CLI's start-up, docs/benchmarks.md)
import type { CertificateMaterial, ExportFile } from './export-formats';
import { aliasOf, safeBaseName } from './file-names';

export { CERTIFICATE_EXPORT_FORMATS, TRUSTSTORE_EXPORT_FORMATS };
export type { CertificateExportFormat, TruststoreExportFormat, ExportFile };

/** Java refuses keystore passwords under 6 characters; we ask for 8. */
export const MIN_EXPORT_PASSWORD_LENGTH = 8;

export interface CertificateExportOptions {
  format: CertificateExportFormat;
  password?: string;
  /** 3DES + SHA-1 PKCS#12 / PKCS#8 encryption for old appliances (default: AES-256-CBC + PBKDF2-SHA256) */
  legacy?: boolean;
  /** chain and PKCS#7: include the self-signed root (default true) */
  includeRoot?: boolean;
  /** PKCS#12, JKS, ZIP: include the kept private key when the server holds one (default true) */
  includeKey?: boolean;
}

export interface TruststoreExportOptions {
  format: TruststoreExportFormat;
  password?: string;
  legacy?: boolean;
}

export interface ExportService {
  /** one certificate in a file format; private keys only when kept by the server, with a password, audited */
  certificate(ref: string, options: CertificateExportOptions, actor: Actor): Promise<ExportFile>;
  /** the chain of a CA (the CA up to its root) as a truststore: PEM bundle, PKCS#7, PKCS#12 or JKS */
  truststore(caRef: string, options: TruststoreExportOptions, actor: Actor): Promise<ExportFile>;
  /** whether the server keeps the private key of a certificate */
  keyHeld(certificateId: string): Promise<boolean>;
  /**
   * Freshly generated keys (bulk issuance) as one ZIP of password-protected PKCS#12 files (key + chain), one per
   * certificate under the given file name; one `certificate.exported` event per certificate.
   */
  keysZip(
    items: { fileName: string; certificate: CertificateRow; privateKeyPem: string }[],
    options: { password: string; legacy?: boolean; zipName: string; batchId?: string },
    actor: Actor,
  ): Promise<ExportFile>;
}

export interface ExportServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  keySealer: KeySealer;
  /** resolves a certificate reference (id, serial, fingerprint) */
  findCertificate(ref: string): Promise<CertificateRow>;
}

/**
 * the `code` of the log record of an export holding a private key (a CLI command that prints PRIVATE_KEY_WARNING
 * leaves the record out of its log: apps/cli's PRINTED_WARNING_CODES)
 */
export const PRIVATE_KEY_EXPORTED = 'private_key.exported';

export const PRIVATE_KEY_WARNING =
  'this file contains the PRIVATE KEY of the certificate, encrypted with the export password: store it like the ' +
  'key itself, send the password by another channel, delete copies you do not need';

/** an export password is given and long enough (`export.password_required`, `input.invalid`) */
export function checkExportPassword(password: string | undefined, what: string): void {
  if (password === undefined || password.length === 0) {
    throw new PkiError('export.password_required', `${what} needs a password (--password-file)`);
  }
  if (password.length < MIN_EXPORT_PASSWORD_LENGTH) {
    throw new PkiError(
      'input.invalid',
      `the export password must have at least ${MIN_EXPORT_PASSWORD_LENGTH} characters (Java needs 6)`,
    );
  }
}

export function createExportService(deps: ExportServiceDeps): ExportService {
  const { store, clock, contexts, keySealer } = deps;

  async function issuersOf(caId: string): Promise<{ ca: CaRow; ders: Uint8Array[]; lastIsRoot: boolean }> {
    const ca = await findCaByRef(store, caId); // a CA deleted meanwhile: ca.not_found as elsewhere
    const ders = splitPemBundle(await contexts.chainPem(ca));
    let root: CaRow | undefined = ca;
    while (root?.parentId) root = await store.cas.findById(root.parentId);
    return { ca, ders, lastIsRoot: !!root && root.parentId === null && root.subjectDn === root.issuerDn };
  }

  async function certificate(ref: string, o: CertificateExportOptions, actor: Actor): Promise<ExportFile> {
    let target: string = ref;
    try {
      authorize(actor, 'certificate:read');
      if (!(CERTIFICATE_EXPORT_FORMATS as readonly string[]).includes(o.format)) {
        throw new PkiError(
          'input.invalid',
          `unknown export format '${o.format}' (use ${CERTIFICATE_EXPORT_FORMATS.join(', ')})`,
        );
      }
      const row = await deps.findCertificate(ref);
      target = row.id;
      checkActorMayUseCa(actor, await store.cas.findById(row.caId));
      if (o.format === 'p12' || o.format === 'jks' || o.format === 'key') checkExportPassword(o.password, o.format);
      else if (o.format === 'zip' && o.password !== undefined) checkExportPassword(o.password, 'zip');
      const kept =
        o.format === 'key' || o.includeKey !== false ? await store.certificates.findSealedKey(row.id) : undefined;
      if (o.format === 'key' && !kept) {
        throw new PkiError(
          'export.key_not_held',
          `the server does not hold the private key of ${row.serialHex} (only keys it generated with --keep-key)`,
        );
      }
      const wantsKey =
        !!kept &&
        (o.format === 'key' || ((o.format === 'p12' || o.format === 'jks' || o.format === 'zip') && !!o.password));
      if (wantsKey) authorize(actor, 'certificate:issue'); // a key export is worth an issuance
      const pkcs8Der =
        wantsKey && kept
          ? new Uint8Array(
              createPrivateKey(keySealer.open(row.id, kept.sealedKey)).export({ format: 'der', type: 'pkcs8' }),
            )
          : undefined;
      const issuers = await issuersOf(row.caId);
      const { encodeCertificateExport } = await import('./export-formats');
      const material: CertificateMaterial = {
        baseName: certificateBaseName(row.commonName, row.serialHex),
        alias: aliasOf(row.commonName, row.serialHex.slice(0, 16)),
        leaf: fromPem(row.certificatePem, 'CERTIFICATE'),
        issuers: issuers.ders,
        lastIsRoot: issuers.lastIsRoot,
        pkcs8Der,
      };
      const out = await encodeCertificateExport(o.format, material, {
        password: o.password,
        scheme: o.legacy ? 'legacy' : 'modern',
        includeRoot: o.includeRoot !== false,
        now: clock.now(),
      });
      await store.commit({
        audit: [
          auditEvent(clock, actor, 'certificate.exported', row.id, {
            caId: row.caId,
            serial: row.serialHex,
            format: o.format,
            containsPrivateKey: out.containsPrivateKey,
            ...(o.legacy ? { legacy: true } : {}),
            fileName: out.fileName,
          }),
        ],
      });
      if (out.containsPrivateKey) {
        deps.logger.warn(
          { certificateId: row.id, actor: actor.id, format: o.format, code: PRIVATE_KEY_EXPORTED },
          'private key exported',
        );
      }
      return out.containsPrivateKey ? { ...out, warning: PRIVATE_KEY_WARNING } : out;
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.export_failed', target, e, { format: o.format });
    }
  }

  async function truststore(caRef: string, o: TruststoreExportOptions, actor: Actor): Promise<ExportFile> {
    let target = caRef;
    try {
      authorize(actor, 'ca:read');
      if (!(TRUSTSTORE_EXPORT_FORMATS as readonly string[]).includes(o.format)) {
        throw new PkiError(
          'input.invalid',
          `unknown truststore format '${o.format}' (use ${TRUSTSTORE_EXPORT_FORMATS.join(', ')})`,
        );
      }
      const ca = await findCaByRef(store, caRef, actor);
      target = ca.id;
      if (!ca.certificatePem) throw new PkiError('ca.not_active', `CA '${ca.name}' has no certificate yet`);
      if (o.format === 'p12' || o.format === 'jks') checkExportPassword(o.password, `a ${o.format} truststore`);
      const { ders } = await issuersOf(ca.id);
      const path: CaRow[] = [];
      for (let c: CaRow | undefined = ca; c && path.length < ders.length;) {
        path.push(c);
        c = c.parentId ? await store.cas.findById(c.parentId) : undefined;
      }
      const { encodeTruststore } = await import('./export-formats');
      const certificates = ders.map((der, i) => ({ der, alias: aliasOf(path[i]?.name, `ca-${i}`) }));
      const out = await encodeTruststore(o.format, safeBaseName(ca.name, ca.id), certificates, {
        password: o.password,
        scheme: o.legacy ? 'legacy' : 'modern',
        includeRoot: true,
        now: clock.now(),
      });
      await store.commit({
        audit: [
          auditEvent(clock, actor, 'ca.truststore_exported', ca.id, {
            format: o.format,
            certificates: certificates.length,
            fileName: out.fileName,
          }),
        ],
      });
      return out;
    } catch (e) {
      throw await recordFailure(deps, actor, 'ca.truststore_export_failed', target, e, { format: o.format });
    }
  }

  async function keysZip(
    items: { fileName: string; certificate: CertificateRow; privateKeyPem: string }[],
    o: { password: string; legacy?: boolean; zipName: string; batchId?: string },
    actor: Actor,
  ): Promise<ExportFile> {
    authorize(actor, 'certificate:issue');
    checkExportPassword(o.password, 'a ZIP of keys');
    const { encodeCertificateExport } = await import('./export-formats');
    const { zipSync } = await import('fflate');
    const issuers = new Map<string, Awaited<ReturnType<typeof issuersOf>>>();
    const files: Zippable = {};
    for (const it of items) {
      const row = it.certificate;
      let chain = issuers.get(row.caId);
      if (!chain) issuers.set(row.caId, (chain = await issuersOf(row.caId)));
      const p12 = await encodeCertificateExport(
        'p12',
        {
          baseName: it.fileName,
          alias: aliasOf(row.commonName, row.serialHex.slice(0, 16)),
          leaf: fromPem(row.certificatePem, 'CERTIFICATE'),
          issuers: chain.ders,
          lastIsRoot: chain.lastIsRoot,
          pkcs8Der: new Uint8Array(createPrivateKey(it.privateKeyPem).export({ format: 'der', type: 'pkcs8' })),
        },
        { password: o.password, scheme: o.legacy ? 'legacy' : 'modern', includeRoot: true, now: clock.now() },
      );
      files[p12.fileName] = p12.body;
    }
    const fileName = `${safeBaseName(o.zipName, 'keys')}.zip`;
    await store.commit({
      audit: items.map((it) =>
        auditEvent(clock, actor, 'certificate.exported', it.certificate.id, {
          caId: it.certificate.caId,
          serial: it.certificate.serialHex,
          format: 'p12',
          containsPrivateKey: true,
          ...(o.legacy ? { legacy: true } : {}),
          fileName,
          ...(o.batchId ? { batchId: o.batchId } : {}),
        }),
      ),
    });
    deps.logger.warn(
      { certificates: items.length, actor: actor.id, fileName, code: PRIVATE_KEY_EXPORTED },
      'private keys exported (bulk)',
    );
    return {
      fileName,
      mediaType: 'application/zip',
      body: zipSync(files, { level: 6, mtime: clock.now() }),
      containsPrivateKey: items.length > 0,
      ...(items.length ? { warning: PRIVATE_KEY_WARNING } : {}),
    };
  }

  return {
    certificate,
    truststore,
    keysZip,
    keyHeld: async (id) => !!(await store.certificates.findSealedKey(id)),
  };
}
