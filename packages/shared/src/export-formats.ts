/** The export formats of a certificate and of a CA truststore: one list for the authority and the contract. */
export const CERTIFICATE_EXPORT_FORMATS = [
  'pem',
  'der',
  'chain',
  'p7b',
  'p7b-pem',
  'p12',
  'jks',
  'key',
  'zip',
] as const;
export type CertificateExportFormat = (typeof CERTIFICATE_EXPORT_FORMATS)[number];

export const TRUSTSTORE_EXPORT_FORMATS = ['pem', 'p7b', 'p7b-pem', 'p12', 'jks'] as const;
export type TruststoreExportFormat = (typeof TRUSTSTORE_EXPORT_FORMATS)[number];

/** a file-name-safe base from a common name (or a fallback) */
export function safeBaseName(name: string | null | undefined, fallback: string): string {
  const base = (name ?? '')
    .replace(/^\*\./, 'wildcard.')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 64);
  return base || fallback;
}

const CERTIFICATE_EXPORT_SUFFIXES: Readonly<Record<CertificateExportFormat, string>> = {
  pem: '.pem',
  der: '.cer',
  chain: '.chain.pem',
  p7b: '.p7b',
  'p7b-pem': '.p7b.pem',
  p12: '.p12',
  jks: '.jks',
  key: '.key.pem',
  zip: '.zip',
};

/** the base of a certificate's export file names: its common name, or `certificate-<serial prefix>` */
export function certificateBaseName(commonName: string | null | undefined, serialHex: string): string {
  return safeBaseName(commonName, `certificate-${serialHex.slice(0, 16)}`);
}

/** the file name of a certificate export (the one `pkim cert export` writes without --out) */
export function certificateExportFileName(
  format: CertificateExportFormat,
  baseName: string,
  includeRoot: boolean,
): string {
  return format === 'chain' && includeRoot
    ? `${baseName}.fullchain.pem`
    : `${baseName}${CERTIFICATE_EXPORT_SUFFIXES[format]}`;
}

const TRUSTSTORE_EXPORT_SUFFIXES: Readonly<Record<TruststoreExportFormat, string>> = {
  pem: '.pem',
  p7b: '.p7b',
  'p7b-pem': '.p7b.pem',
  p12: '.truststore.p12',
  jks: '.truststore.jks',
};

/** the file name of a CA truststore export (the one `pkim ca truststore` writes without --out) */
export function truststoreExportFileName(format: TruststoreExportFormat, baseName: string): string {
  return `${baseName}${TRUSTSTORE_EXPORT_SUFFIXES[format]}`;
}
