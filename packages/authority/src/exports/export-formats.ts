/**
 * The file formats of certificate and truststore exports, as pure functions over DER and PKCS#8 bytes:
 * PEM, DER, PEM chains, PKCS#7 (DER and PEM), PKCS#12 (modern or legacy), JKS, encrypted PKCS#8 and a ZIP of
 * all of them. Libraries: @peculiar/asn1-cms / asn1-pfx / asn1-pkcs8, fflate for ZIP, node:crypto.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import {
  CMSVersion,
  CertificateChoices,
  CertificateSet,
  ContentInfo,
  EncapsulatedContentInfo,
  SignedData,
  SignerInfos,
  id_data,
  id_signedData,
} from '@peculiar/asn1-cms';
import { zipSync, type Zippable } from 'fflate';
import { toPem } from '@pkim/core';
import { encryptPrivateKeyInfo, toArrayBuffer, type PbeScheme } from './password-encryption';
import { writePkcs12 } from './pkcs12-writer';
import { writeJks } from './jks-writer';

// the format lists are @pkim/shared's; export-service.ts is where the authority re-exports them
import {
  certificateExportFileName,
  truststoreExportFileName,
  type CertificateExportFormat,
  type TruststoreExportFormat,
} from '@pkim/shared';

/** formats that always need a password (a ZIP needs one for its PKCS#12/JKS/key members) */
export const PASSWORD_FORMATS: readonly string[] = ['p12', 'jks', 'key'];

export interface ExportFile {
  fileName: string;
  mediaType: string;
  body: Uint8Array;
  /** true when the file holds a private key (encrypted with the export password) */
  containsPrivateKey: boolean;
  warning?: string;
}

/** degenerate PKCS#7 SignedData (RFC 2315 / RFC 5652 "certs-only"), as `openssl crl2pkcs7 -nocrl` writes */
export function writePkcs7(certificates: Uint8Array[]): Uint8Array {
  const signed = new SignedData({
    version: CMSVersion.v1,
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data }),
    certificates: new CertificateSet(
      certificates.map(
        (der) => new CertificateChoices({ certificate: AsnConvert.parse(toArrayBuffer(der), Certificate) }),
      ),
    ),
    signerInfos: new SignerInfos(),
  });
  const info = new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signed) });
  return new Uint8Array(AsnConvert.serialize(info));
}

const pemOf = (ders: Uint8Array[]): string => ders.map((d) => toPem(d, 'CERTIFICATE')).join('');
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

export interface CertificateMaterial {
  /** base of file names (no extension) */
  baseName: string;
  /** alias of the key entry / leaf in keystores */
  alias: string;
  leaf: Uint8Array;
  /** issuer first, root last */
  issuers: Uint8Array[];
  /** whether the last issuer is a self-signed root (dropped by `includeRoot: false`) */
  lastIsRoot: boolean;
  /** unencrypted PKCS#8 DER of the private key, when it is to be included */
  pkcs8Der?: Uint8Array;
}

export interface EncodeOptions {
  password?: string;
  scheme: PbeScheme;
  includeRoot: boolean;
  now: number;
}

function chainOf(m: CertificateMaterial, includeRoot: boolean): Uint8Array[] {
  const issuers = includeRoot || !m.lastIsRoot ? m.issuers : m.issuers.slice(0, -1);
  return [m.leaf, ...issuers];
}

/** One certificate export (see CERTIFICATE_EXPORT_FORMATS); the password was checked by the caller. */
export async function encodeCertificateExport(
  format: CertificateExportFormat,
  m: CertificateMaterial,
  o: EncodeOptions,
): Promise<Omit<ExportFile, 'warning'>> {
  const password = o.password ?? '';
  const full = chainOf(m, true);
  const name = (f: CertificateExportFormat) => certificateExportFileName(f, m.baseName, o.includeRoot);
  switch (format) {
    case 'pem':
      return file(name('pem'), 'application/x-pem-file', utf8(pemOf([m.leaf])));
    case 'der':
      return file(name('der'), 'application/pkix-cert', m.leaf);
    case 'chain':
      return file(name('chain'), 'application/pem-certificate-chain', utf8(pemOf(chainOf(m, o.includeRoot))));
    case 'p7b':
      return file(name('p7b'), 'application/pkcs7-mime', writePkcs7(chainOf(m, o.includeRoot)));
    case 'p7b-pem':
      return file(
        name('p7b-pem'),
        'application/x-pem-file',
        utf8(toPem(writePkcs7(chainOf(m, o.includeRoot)), 'PKCS7')),
      );
    case 'p12': {
      const body = await writePkcs12({
        password,
        scheme: o.scheme,
        key: m.pkcs8Der ? { pkcs8Der: m.pkcs8Der, alias: m.alias } : undefined,
        certificates: (m.pkcs8Der ? full : [m.leaf]).map((der, i) => ({ der, alias: i ? `issuer-${i}` : m.alias })),
      });
      return file(name('p12'), 'application/x-pkcs12', body, !!m.pkcs8Der);
    }
    case 'jks': {
      const body = writeJks(
        [{ alias: m.alias, certificates: m.pkcs8Der ? full : [m.leaf], pkcs8Der: m.pkcs8Der }],
        password,
        o.now,
      );
      return file(name('jks'), 'application/x-java-keystore', body, !!m.pkcs8Der);
    }
    case 'key': {
      if (!m.pkcs8Der) throw new Error('no key to export');
      const der = await encryptPrivateKeyInfo(o.scheme, password, m.pkcs8Der);
      return file(name('key'), 'application/x-pem-file', utf8(toPem(der, 'ENCRYPTED PRIVATE KEY')), true);
    }
    case 'zip': {
      const files: Zippable = {};
      const add = (f: Omit<ExportFile, 'warning'>) => {
        files[f.fileName] = f.body;
      };
      for (const f of ['pem', 'der', 'p7b'] as const) add(await encodeCertificateExport(f, m, o));
      add(await encodeCertificateExport('chain', m, { ...o, includeRoot: false }));
      add(await encodeCertificateExport('chain', m, { ...o, includeRoot: true }));
      if (o.password) {
        add(await encodeCertificateExport('p12', m, o));
        add(await encodeCertificateExport('jks', m, o));
        if (m.pkcs8Der) add(await encodeCertificateExport('key', m, o));
      }
      const withKey = !!(o.password && m.pkcs8Der);
      return file(name('zip'), 'application/zip', zipSync(files, { level: 6, mtime: o.now }), withKey);
    }
  }
}

/** A truststore of CA certificates (the CA first, its root last): trusted entries only, never a key. */
export async function encodeTruststore(
  format: TruststoreExportFormat,
  baseName: string,
  certificates: { der: Uint8Array; alias: string }[],
  o: EncodeOptions,
): Promise<Omit<ExportFile, 'warning'>> {
  const ders = certificates.map((c) => c.der);
  const name = (f: TruststoreExportFormat) => truststoreExportFileName(f, baseName);
  switch (format) {
    case 'pem':
      return file(name('pem'), 'application/pem-certificate-chain', utf8(pemOf(ders)));
    case 'p7b':
      return file(name('p7b'), 'application/pkcs7-mime', writePkcs7(ders));
    case 'p7b-pem':
      return file(name('p7b-pem'), 'application/x-pem-file', utf8(toPem(writePkcs7(ders), 'PKCS7')));
    case 'p12':
      return file(
        name('p12'),
        'application/x-pkcs12',
        await writePkcs12({ password: o.password ?? '', scheme: o.scheme, certificates }),
      );
    case 'jks':
      return file(
        name('jks'),
        'application/x-java-keystore',
        writeJks(
          certificates.map((c) => ({ alias: c.alias, certificates: [c.der] })),
          o.password ?? '',
          o.now,
        ),
      );
  }
}

function file(fileName: string, mediaType: string, body: Uint8Array, containsPrivateKey = false) {
  return { fileName, mediaType, body, containsPrivateKey };
}
