import type { TtlvNode } from './kmip-ttlv';

export interface KmipRoundTripOptions {
  /** KMIP operation name, for error messages. */
  operation: string;
  /** Deadline for this single attempt (connect + request + response). */
  timeoutMs: number;
}

/** Moves one request node to the server and back. Throws PkiError `kms.*` (never raw socket errors). */
export interface KmipTransport {
  readonly kind: 'http-json' | 'tls-binary';
  /** `host:port` of the server, used in key URIs. */
  readonly server: string;
  roundTrip(request: TtlvNode, opts: KmipRoundTripOptions): Promise<TtlvNode>;
  close(): Promise<void>;
}
