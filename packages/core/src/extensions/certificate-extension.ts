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

/** equal lists of strings, element by element */
function sameLists(a: readonly (readonly string[])[], b: readonly (readonly string[])[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/**
 * The extnValue of some lists of URLs (a CA's CRL URLs; its OCSP and caIssuers URLs), built once per distinct lists
 * ({@link cachedValue}, keyed by their JSON) — and the lists of the last call compared string by string first:
 * certificate after certificate of one CA brings equal lists in new arrays (a worker job's are a structured clone),
 * and comparing them costs less than their JSON key (≈ 1–2 µs per certificate for the two extensions).
 */
export function urlListsValue<L extends string[][]>(build: (...lists: L) => Uint8Array): (...lists: L) => Uint8Array {
  const cache = new Map<string, Uint8Array>();
  let last: { lists: string[][]; value: Uint8Array } | undefined;
  return (...lists) => {
    if (last && sameLists(last.lists, lists)) return last.value;
    const value = cachedValue(cache, JSON.stringify(lists), () => build(...lists));
    // copies: a caller may change its arrays after the call
    last = { lists: lists.map((l) => [...l]), value };
    return value;
  };
}
