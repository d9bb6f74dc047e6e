/**
 * The registry of certificate extensions, in the order they are encoded. The encoder walks it for
 * every certificate; the parser decodes known OIDs with it. Adding an extension (SPIFFE-specific,
 * ACME id-pe-acmeIdentifier, …) is one file in this folder and one entry below; an optional one is
 * then switched on per profile by data (`profile.extensions`).
 */
import { octetString, oid, seq, TRUE } from '../der-writer';
import type { CertificatePlan, Profile } from '../types';
import { AUTHORITY_INFO_ACCESS } from './authority-info-access';
import { BASIC_CONSTRAINTS } from './basic-constraints';
import type { CertificateExtension } from './certificate-extension';
import { CERTIFICATE_POLICIES } from './certificate-policies';
import { CRL_DISTRIBUTION_POINTS } from './crl-distribution-points';
import { CT_POISON } from './ct-poison';
import { EXT_KEY_USAGE } from './ext-key-usage';
import { AUTHORITY_KEY_IDENTIFIER, SUBJECT_KEY_IDENTIFIER } from './key-identifiers';
import { KEY_USAGE } from './key-usage';
import { NAME_CONSTRAINTS } from './name-constraints';
import { OCSP_NO_CHECK } from './ocsp-no-check';
import { SUBJECT_ALT_NAME } from './subject-alt-name';

export const CERTIFICATE_EXTENSIONS: readonly CertificateExtension[] = [
  BASIC_CONSTRAINTS,
  KEY_USAGE,
  EXT_KEY_USAGE,
  SUBJECT_KEY_IDENTIFIER,
  AUTHORITY_KEY_IDENTIFIER,
  SUBJECT_ALT_NAME,
  NAME_CONSTRAINTS,
  CRL_DISTRIBUTION_POINTS,
  AUTHORITY_INFO_ACCESS,
  CERTIFICATE_POLICIES,
  OCSP_NO_CHECK,
  CT_POISON,
];

/** Names a profile may list in `extensions` (the optional ones). */
export const OPTIONAL_EXTENSION_NAMES: readonly string[] = CERTIFICATE_EXTENSIONS.filter((e) => e.optional).map(
  (e) => e.name,
);

const BY_OID = new Map(CERTIFICATE_EXTENSIONS.map((e) => [e.oid, e]));
const BY_NAME = new Map(CERTIFICATE_EXTENSIONS.map((e) => [e.name, e]));

export function extensionByOid(dotted: string): CertificateExtension | undefined {
  return BY_OID.get(dotted);
}

export function extensionByName(name: string): CertificateExtension | undefined {
  return BY_NAME.get(name);
}

/** Does the profile switch this optional extension on? (`ocspNoCheck: true` is the older spelling.) */
export function profileWants(profile: Profile, name: string): boolean {
  return (profile.extensions?.includes(name) ?? false) || (name === 'ocspNoCheck' && profile.ocspNoCheck === true);
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function encodeExtension(extOid: Uint8Array, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(extOid, TRUE, octetString(value)) : seq(extOid, octetString(value));
}

interface Slot {
  ext: CertificateExtension;
  oidDer: Uint8Array;
  /** the constant criticality, or undefined when it depends on the plan */
  critical: boolean | undefined;
  /** the last value/criticality encoded and its Extension TLV: constants and cached values cost nothing */
  lastValue?: Uint8Array;
  lastCritical?: boolean;
  lastTlv?: Uint8Array;
}
const SLOTS: Slot[] = CERTIFICATE_EXTENSIONS.map((ext) => ({
  ext,
  oidDer: oid(ext.oid),
  critical: typeof ext.critical === 'boolean' ? ext.critical : undefined,
}));

function encodeSlot(slot: Slot, plan: CertificatePlan, out: Uint8Array[]): void {
  const value = slot.ext.encode(plan);
  if (value === undefined) return;
  const critical = slot.critical ?? (slot.ext.critical as (plan: CertificatePlan) => boolean)(plan);
  if (value === slot.lastValue && critical === slot.lastCritical && slot.lastTlv) {
    out.push(slot.lastTlv);
    return;
  }
  const tlv = encodeExtension(slot.oidDer, critical, value);
  slot.lastValue = value;
  slot.lastCritical = critical;
  slot.lastTlv = tlv;
  out.push(tlv);
}

/** The encoded Extension TLVs of a plan, in registry order. */
export function encodeExtensions(plan: CertificatePlan): Uint8Array[] {
  const out: Uint8Array[] = [];
  const profile = plan.profile;
  const anyOptional = profile.extensions !== undefined || profile.ocspNoCheck === true;
  for (const slot of SLOTS) {
    if (slot.ext.optional && !(anyOptional && profileWants(profile, slot.ext.name))) continue;
    encodeSlot(slot, plan, out);
  }
  return out;
}
