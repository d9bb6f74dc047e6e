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
