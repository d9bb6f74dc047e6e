// Public API of the KMIP backend (internals are imported from their files by tests and tools).
export type { TtlvNode, TtlvType } from './kmip-ttlv';
export { decodeJsonTtlv, encodeJsonTtlv, parseJsonTtlv, stringifyJsonTtlv } from './kmip-json-codec';
export { decodeBinaryTtlv, encodeBinaryTtlv } from './kmip-binary-codec';
export type { KmipTransport } from './kmip-transport';
export { createKmipHttpTransport, type KmipHttpTransportOptions } from './kmip-http-transport';
export { createKmipTlsTransport, type KmipTlsTransportOptions } from './kmip-tls-transport';
export type {
  CertifyInput,
  CertifySubject,
  KmipDialect,
  KmipServerInfo,
  RevocationReasonCode,
} from './kmip-operations';
export { createKmipClient, type KmipClient, type KmipClientConfig } from './kmip-client';
export {
  createKmipBackend,
  createKmipTransport,
  formatKmipKeyUri,
  parseKmipKeyUri,
  type KmipBackend,
  type KmipBackendOptions,
  type KmipCertifyRequest,
  type KmipKeyUri,
} from './kmip-backend';
export { kmipConfigFromEnv } from './kmip-config';
export { KMIP_REGISTRATION } from './kmip-registration';
export { toCertifySubject, rootExtensionsIni } from './kmip-root-certifier';
