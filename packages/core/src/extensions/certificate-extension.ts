/**
 * The shape of one X.509 v3 extension in the registry (extension-registry.ts), the way
 * PeculiarVentures/x509 has one class per extension: its OID, its criticality, how a certificate plan
 * becomes its extnValue (DER, with the fast writer of der-writer.ts) and how extnValue reads back.
 * A new extension is one file exporting a `CertificateExtension` plus one entry in the registry;
 * optional extensions are added to a certificate only when its profile names them
 * (`profile.extensions`, profile data).
 */
import type { CertificatePlan } from '../types';

export interface CertificateExtension<T = unknown> {
  /** Registry name; profiles name optional extensions by it (`"extensions": ["ocspNoCheck"]`). */
  readonly name: string;
  /** Dotted OID of extnID. */
  readonly oid: string;
  /** Criticality; a function when it depends on the certificate (SAN is critical for an empty subject). */
  readonly critical: boolean | ((plan: CertificatePlan) => boolean);
  /**
   * True for extensions a certificate carries only when its profile names it in `extensions`;
   * false for the RFC 5280 core set the planner decides from the plan itself.
   */
  readonly optional: boolean;
  /**
   * The extnValue contents (DER) for this plan, or undefined when the certificate does not carry
   * the extension. Return the same Uint8Array for the same value (constants, caches): the registry
   * then reuses the whole encoded Extension.
   */
  encode(plan: CertificatePlan): Uint8Array | undefined;
  /** Reads extnValue back (throws on malformed DER; the parser maps it to certificate.invalid). */
  decode(der: Uint8Array): T;
}

/**
 * The extnValue of `key` from `cache`, built once: for values every certificate of a CA repeats (its CRL and AIA
 * URLs), so the registry reuses the whole encoded Extension instead of encoding it per certificate. `key` must name
 * the value unambiguously (JSON of its inputs); the cache is bounded.
 */
export function cachedValue(cache: Map<string, Uint8Array>, key: string, build: () => Uint8Array): Uint8Array {
  let v = cache.get(key);
  if (v === undefined) {
    v = build();
    if (cache.size >= 256) cache.clear();
    cache.set(key, v);
  }
  return v;
}
