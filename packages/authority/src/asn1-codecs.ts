// Core's CRL and OCSP codecs, loaded with the first CRL or OCSP response (`await import('./asn1-codecs')`): they
// build on @peculiar/asn1-x509 and @peculiar/asn1-ocsp, whose decorated classes cost more to load than the rest of
// the authority, and most CLI commands never sign a CRL or answer OCSP (docs/benchmarks.md, start-up time).
export {
  buildCrl,
  buildOcspResponse,
  CrlEntryWriter,
  ocspErrorResponse,
  ocspIssuerHashes,
  ocspCertIdDer,
  parseCrl,
  parseOcspRequest,
  verifyCrlSignature,
} from '@pkim/core';
