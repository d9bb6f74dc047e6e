import { isIP } from 'node:net';
import { PkiError, checkDurationMs, formatLifetime, type KeyType } from '@pkim/shared';
import { keyTypeNotAllowedMessage, type Profile, type SubjectAltNames, type DistinguishedName } from '@pkim/core';
import type { CaRow } from '@pkim/store';
import type { Actor } from '../types';
import { namePatternMatcher, type LeafFacts, type NameKind, type Provisioner } from './provisioner';
import { actorProvisioner } from './provisioner-registry';

const HOSTNAME_LIKE = /^(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_-]{1,63})+\.?$/;

function refused(code: string, p: Provisioner, message: string, details: Record<string, unknown> = {}): PkiError {
  return new PkiError(code, `${message} (provisioner ${p.kind} '${p.name}')`, {
    details: { provisioner: { kind: p.kind, id: p.id }, ...details },
  });
}

const caAllowed = (list: string[], ca: Pick<CaRow, 'id' | 'name'>) =>
  list.some((x) => x === ca.id || x.toLowerCase() === ca.name.toLowerCase());

/** Validator: may each provisioner use this CA (to sign with, or as a parent)? */
export function checkCa(all: Provisioner[], ca: Pick<CaRow, 'id' | 'name'>): void {
  for (const p of all) {
    if (p.policy.cas && !caAllowed(p.policy.cas, ca)) {
      throw refused('provisioner.ca_not_allowed', p, `CA '${ca.name}' is not among the CAs this channel may use`, {
        caId: ca.id,
      });
    }
  }
}

/** Validator: may each provisioner create CA certificates (roots, intermediates)? */
export function checkCaCertificates(all: Provisioner[]): void {
  for (const p of all) {
    if (!(p.policy.allowCaCertificates ?? (p.kind === 'local' || p.kind === 'system'))) {
      throw refused('provisioner.ca_certificates_not_allowed', p, 'this channel may not create CA certificates');
    }
  }
}

export function checkProfile(all: Provisioner[], profile: string): void {
  for (const p of all) {
    if (p.policy.profiles && !p.policy.profiles.includes(profile)) {
      throw refused('provisioner.profile_not_allowed', p, `profile '${profile}' is not allowed for this channel`, {
        profile,
      });
    }
  }
}

export function checkKeyType(all: Provisioner[], keyType: KeyType): void {
  for (const p of all) {
    if (p.policy.keyTypes && !p.policy.keyTypes.includes(keyType)) {
      throw refused('provisioner.key_type_not_allowed', p, `key type ${keyType} is not allowed for this channel`, {
        keyType,
      });
    }
  }
}

/**
 * The profile's `allowedKeyTypes`, checked before a key is made or a CSR signed — a CA's (root-ca, intermediate-ca,
 * or the file's replacement) and a leaf's alike: `policy.key_type_not_allowed` in one wording, naming what was asked
 * and what the profile allows (keyTypeNotAllowedMessage, also the linter's).
 */
export function checkProfileKeyType(profile: Pick<Profile, 'name' | 'allowedKeyTypes'>, keyType: KeyType): void {
  if (profile.allowedKeyTypes.includes(keyType)) return;
  throw new PkiError('policy.key_type_not_allowed', keyTypeNotAllowedMessage(profile, keyType), {
    details: { profile: profile.name, keyType, allowed: [...profile.allowedKeyTypes] },
  });
}

/** Every requested name (SANs and a host-name CN) must match a pattern of every provisioner that has patterns. */
export function checkNames(all: Provisioner[], subject: DistinguishedName, sans: SubjectAltNames): void {
  // most channels have no name patterns: no list of the names (nor a CN test) for them
  if (!all.some((p) => p.policy.names)) return;
  const names: [NameKind, string][] = [
    ...(sans.dns ?? []).map((v): [NameKind, string] => ['dns', v]),
    ...(sans.ip ?? []).map((v): [NameKind, string] => ['ip', v]),
    ...(sans.email ?? []).map((v): [NameKind, string] => ['email', v]),
    ...(sans.uri ?? []).map((v): [NameKind, string] => ['uri', v]),
  ];
  for (const a of subject) {
    // a CN holding an IP address is an IP name (RFC 8738 clients put it there), not a host name
    if (a.type === 'CN' && isIP(a.value)) names.push(['ip', a.value]);
    else if (a.type === 'CN' && HOSTNAME_LIKE.test(a.value)) names.push(['dns', a.value]);
    if (a.type === 'emailAddress') names.push(['email', a.value]);
  }
  for (const p of all) {
    const patterns = p.policy.names;
    if (!patterns) continue;
    const matches = namePatternMatcher(patterns);
    for (const [kind, value] of names) {
      if (!matches(kind, value)) {
        throw refused('provisioner.name_not_allowed', p, `${kind} name '${value}' is not allowed for this channel`, {
          name: value,
          allowed: patterns,
        });
      }
    }
  }
}

/**
 * Modifiers + validator for the lifetime: fills in the default, shortens to `capLifetimeMs`, and refuses
 * beyond `maxLifetimeMs`. Returns the requested lifetime (undefined = the profile default, clamped to the CA).
 */
export function applyLifetime(
  all: Provisioner[],
  effective: Provisioner,
  requested: number | undefined,
  profile: Profile,
): number | undefined {
  // bounded (100 years) before it reaches Date, the linter or the database, whatever the channel
  if (requested !== undefined) checkDurationMs(requested, 'lifetime');
  let lifetime = requested ?? effective.modifiers?.defaultLifetimeMs;
  const cap = effective.modifiers?.capLifetimeMs;
  if (cap !== undefined) lifetime = Math.min(lifetime ?? profile.defaultLifetimeMs, cap);
  for (const p of all) {
    const max = p.policy.maxLifetimeMs;
    if (max === undefined) continue;
    const effectiveLifetime = lifetime ?? profile.defaultLifetimeMs;
    if (effectiveLifetime > max) {
      if (requested === undefined && lifetime === undefined) {
        lifetime = max; // the profile default is longer than the channel allows: shorten the default
        continue;
      }
      throw refused(
        'provisioner.lifetime_exceeded',
        p,
        `a lifetime of ${formatLifetime(effectiveLifetime)} exceeds this channel's maximum of ${formatLifetime(max)}`,
        { lifetimeMs: effectiveLifetime, maxLifetimeMs: max },
      );
    }
  }
  return lifetime;
}

/** Modifiers: the profile as this channel issues it (EKU / key usage overrides). */
export function applyProfileModifiers(effective: Provisioner, profile: Profile): Profile {
  const m = effective.modifiers;
  if (
    !m?.extKeyUsage &&
    !m?.keyUsage &&
    !m?.extKeyUsageOids &&
    !m?.certificatePolicies &&
    m?.leafBasicConstraints === undefined
  )
    return profile;
  return {
    ...profile,
    extKeyUsage: m.extKeyUsage ? [...m.extKeyUsage] : profile.extKeyUsage,
    keyUsage: m.keyUsage ? [...m.keyUsage] : profile.keyUsage,
    extKeyUsageOids: m.extKeyUsageOids ?? profile.extKeyUsageOids,
    certificatePolicies: m.certificatePolicies ?? profile.certificatePolicies,
    ...(m.leafBasicConstraints === undefined ? {} : { leafBasicConstraints: m.leafBasicConstraints }),
  };
}

/** Validators: every provisioner's channel-specific rules (before the generic name/key checks). */
export function runValidators(all: Provisioner[], facts: LeafFacts): void {
  for (const p of all) for (const v of p.policy.validators ?? []) v(facts);
}

/**
 * For reads (lists, searches, single objects): the ids of the CAs a CA-limited actor may see, or undefined when the
 * actor is not limited to some CAs. Limits name CAs by id or name; `cas` are the CAs that exist.
 */
export function visibleCaIds(actor: Actor | undefined, cas: Pick<CaRow, 'id' | 'name'>[]): string[] | undefined {
  const limits = actor?.resources?.cas;
  if (!limits) return undefined;
  return cas.filter((ca) => caAllowed(limits, ca)).map((ca) => ca.id);
}

/** For operations on existing objects (revoke, disable, delete, submit, reject): is the CA within the actor limits? */
export function checkActorMayUseCa(actor: Actor, ca: Pick<CaRow, 'id' | 'name'> | undefined): void {
  if (!actor.resources?.cas || !ca) return;
  checkCa([actorProvisioner(actor)], ca);
}
