import { PkiError } from '@pkim/shared';
import type { Actor } from '../types';
import { checkAllowPattern } from '../spiffe/spiffe-id';
import {
  validateNamePattern,
  type Provisioner,
  type ProvisionerKind,
  type ProvisionerModifiers,
  type ProvisionerPolicy,
  type ResourceLimits,
} from './provisioner';

/** Builds a provisioner from data, checking its patterns (a typo in a pattern must not widen or void a policy). */
export function createProvisioner(input: {
  kind: ProvisionerKind;
  id: string;
  name?: string;
  policy?: ProvisionerPolicy;
  modifiers?: ProvisionerModifiers;
}): Provisioner {
  if (!input.id) throw new PkiError('input.invalid', 'a provisioner needs an id');
  for (const p of input.policy?.names ?? []) validateNamePattern(p);
  const max = input.policy?.maxLifetimeMs;
  if (max !== undefined && !(max > 0))
    throw new PkiError('input.invalid', `maxLifetimeMs must be positive, got ${max}`);
  return {
    kind: input.kind,
    id: input.id,
    name: input.name ?? input.id,
    policy: { ...input.policy },
    modifiers: input.modifiers ? { ...input.modifiers } : undefined,
  };
}

/** Validates resource limits given to a token or a user (same rules as a provisioner policy). */
export function validateResourceLimits(r: ResourceLimits | undefined): ResourceLimits | undefined {
  if (!r) return undefined;
  const clean = (v: string[] | undefined) =>
    v === undefined ? undefined : [...new Set(v.map((x) => x.trim()).filter((x) => x.length > 0))];
  const out: ResourceLimits = {
    cas: clean(r.cas),
    profiles: clean(r.profiles),
    names: clean(r.names),
    maxLifetimeMs: r.maxLifetimeMs,
    spiffe: clean(r.spiffe),
  };
  for (const p of out.names ?? []) validateNamePattern(p);
  for (const p of out.spiffe ?? []) checkAllowPattern(p);
  if (out.maxLifetimeMs !== undefined && !(out.maxLifetimeMs > 0)) {
    throw new PkiError('input.invalid', `resources.maxLifetimeMs must be positive, got ${out.maxLifetimeMs}`);
  }
  const empty = Object.values(out).every((v) => v === undefined);
  return empty ? undefined : out;
}

function kindOfActor(actor: Actor): ProvisionerKind {
  if (actor.id.startsWith('tok_')) return 'token';
  if (actor.id.startsWith('usr_')) return 'user';
  if (actor.id === 'system') return 'system';
  return 'local';
}

/**
 * The provisioner of an actor's OWN grant: its role (admins may create CA certificates) narrowed by the
 * resources stored with its token or user. It applies to every request, whichever channel it came through.
 */
export function actorProvisioner(actor: Actor): Provisioner {
  const kind = kindOfActor(actor);
  const r = actor.resources;
  return {
    kind,
    id: actor.id,
    name: actor.name ?? actor.id,
    policy: {
      cas: r?.cas,
      profiles: r?.profiles,
      names: r?.names,
      maxLifetimeMs: r?.maxLifetimeMs,
      allowCaCertificates: actor.role === 'admin',
    },
  };
}

/**
 * The provisioners that must ALL allow a request: the actor's own grant, plus the channel's provisioner when
 * the request came through one (a Vault role, a SPIFFE entry, an ACME account). The audit event names the
 * channel's provisioner if there is one, else the actor's.
 */
export function provisionersFor(via: { actor: Actor; provisioner?: Provisioner }): {
  effective: Provisioner;
  all: Provisioner[];
} {
  const own = actorProvisioner(via.actor);
  if (!via.provisioner) return { effective: own, all: [own] };
  return { effective: via.provisioner, all: [own, via.provisioner] };
}
