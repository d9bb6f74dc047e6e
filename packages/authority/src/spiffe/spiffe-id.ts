import { PkiError } from '@pkim/shared';

/**
 * SPIFFE IDs of PKI Manager's workload identity: `spiffe://<trust domain>/<service type>/<instance id>`
 * (SPIFFE ID spec: lowercase trust domain, path segments of `[A-Za-z0-9._-]`, no `.`/`..` segments).
 */
export const SERVICE_TYPES = ['orchestrator', 'auth', 'node', 'gateway', 'envoy/app', 'envoy/transport'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Which intermediate signs which service type. */
export const TRANSPORT_SERVICE_TYPES: readonly ServiceType[] = ['envoy/app', 'envoy/transport'];
export const SERVICES_SERVICE_TYPES: readonly ServiceType[] = ['orchestrator', 'auth', 'node', 'gateway'];

export type SpiffeIntermediateRole = 'services' | 'transport';

export function intermediateRoleFor(serviceType: ServiceType): SpiffeIntermediateRole {
  return TRANSPORT_SERVICE_TYPES.includes(serviceType) ? 'transport' : 'services';
}

/** EKUs of an SVID: a gateway only serves; everything else is server and client of mTLS. */
export function extKeyUsageFor(serviceType: ServiceType): ('serverAuth' | 'clientAuth')[] {
  return serviceType === 'gateway' ? ['serverAuth'] : ['serverAuth', 'clientAuth'];
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function isServiceType(v: unknown): v is ServiceType {
  return typeof v === 'string' && (SERVICE_TYPES as readonly string[]).includes(v);
}

export function checkTrustDomain(td: string): string {
  if (typeof td !== 'string' || !TRUST_DOMAIN.test(td) || td.startsWith('.') || td.endsWith('.') || td.includes('..'))
    throw new PkiError(
      'spiffe.invalid_trust_domain',
      `'${String(td)}' is not a SPIFFE trust domain (lowercase letters, digits, '.', '-', '_'; e.g. example.org)`,
    );
  return td;
}

export function checkServiceType(v: unknown): ServiceType {
  if (!isServiceType(v))
    throw new PkiError(
      'spiffe.unknown_service_type',
      `unknown service type '${String(v)}' (known: ${SERVICE_TYPES.join(', ')})`,
      { details: { serviceType: v, known: SERVICE_TYPES } },
    );
  return v;
}

export function checkInstanceId(v: unknown): string {
  if (typeof v !== 'string' || !INSTANCE_ID.test(v) || v === '.' || v === '..')
    throw new PkiError(
      'spiffe.invalid_id',
      `invalid instance id '${String(v)}': 1-128 characters of letters, digits, '.', '-', '_' (not '.' or '..')`,
    );
  return v;
}

export function spiffeIdOf(trustDomain: string, serviceType: ServiceType, instanceId: string): string {
  return `spiffe://${trustDomain}/${serviceType}/${instanceId}`;
}

/** Parses an ID of `trustDomain` into its service type and instance id; throws `spiffe.invalid_id`. */
export function parseSpiffeId(
  id: string,
  trustDomain: string,
): { spiffeId: string; serviceType: ServiceType; instanceId: string } {
  const prefix = `spiffe://${trustDomain}/`;
  const bad = (why: string) =>
    new PkiError('spiffe.invalid_id', `'${id}' is not a SPIFFE ID of trust domain ${trustDomain}: ${why}`, {
      details: { spiffeId: id, trustDomain },
    });
  if (typeof id !== 'string' || id.length > 2048) throw bad('not a string of at most 2048 characters');
  if (!id.startsWith(prefix)) throw bad(`expected spiffe://${trustDomain}/<service type>/<instance id>`);
  const path = id.slice(prefix.length);
  const slash = path.lastIndexOf('/');
  if (slash <= 0) throw bad('expected <service type>/<instance id>');
  const serviceType = path.slice(0, slash);
  const instanceId = path.slice(slash + 1);
  checkServiceType(serviceType);
  checkInstanceId(instanceId);
  return { spiffeId: id, serviceType: serviceType as ServiceType, instanceId };
}

/**
 * An allowed-identity pattern of an API token (`--spiffe-allow`): `<service type>/<instance id glob>`,
 * where `*` matches any run of instance-id characters and `?` one; `*` alone as service type matches
 * every service type (`*` / `*\/*` = any identity).
 */
export function checkAllowPattern(pattern: string): string {
  const p = typeof pattern === 'string' ? pattern.trim() : '';
  const slash = p.lastIndexOf('/');
  const bad = () =>
    new PkiError(
      'input.invalid',
      `invalid --spiffe-allow pattern '${String(pattern)}': ` +
        'expected <service type>/<instance id glob>, e.g. node/worker-*',
    );
  if (p === '*') return p;
  if (slash <= 0) throw bad();
  const type = p.slice(0, slash);
  const glob = p.slice(slash + 1);
  if (type !== '*' && !isServiceType(type)) throw bad();
  if (!/^[A-Za-z0-9._*?-]{1,128}$/.test(glob)) throw bad();
  return p;
}

/** compiled instance-id globs: a token's patterns are matched on every SVID request it makes */
const compiledGlobs = new Map<string, RegExp>();
const MAX_COMPILED_GLOBS = 1000;

function globToRegExp(glob: string): RegExp {
  const known = compiledGlobs.get(glob);
  if (known) return known;
  if (compiledGlobs.size >= MAX_COMPILED_GLOBS) compiledGlobs.clear();
  const re = compileGlob(glob);
  compiledGlobs.set(glob, re);
  return re;
}

function compileGlob(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replace(/\*/g, '[A-Za-z0-9._-]*')
    .replace(/\?/g, '[A-Za-z0-9._-]');
  return new RegExp(`^${body}$`);
}

/** Does `<serviceType>/<instanceId>` match one of the patterns? */
export function allowPatternsMatch(patterns: readonly string[], serviceType: ServiceType, instanceId: string): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    const slash = p.lastIndexOf('/');
    const type = p.slice(0, slash);
    if (type !== '*' && type !== serviceType) return false;
    return globToRegExp(p.slice(slash + 1)).test(instanceId);
  });
}
