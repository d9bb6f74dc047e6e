import type { FastifyRequest } from 'fastify';
import { PkiError } from '@pkim/shared';
import {
  autoTidyResponse,
  crlConfigResponse,
  parseVaultBool,
  type Actor,
  type Authority,
  type VaultMount,
  type VaultSealState,
} from '@pkim/authority';
import { fromPem, toPem } from '@pkim/core';
import type { VaultOutcome } from './vault-reply';

export type VaultOp = 'read' | 'write' | 'delete' | 'list' | 'patch';

/** The route's own parameters; each handler reads only those its route pattern declares. */
export type VaultPathParams = Readonly<Record<'*' | 'name' | 'serial' | 'role' | 'ref' | 'type', string>>;

export interface VaultCall {
  op: VaultOp;
  /** JSON body merged over the query string (body wins) */
  params: Record<string, unknown>;
  query: Record<string, string>;
  /** route parameters (`:name`, `:serial`, `:ref`, `*`); a handler reads only those its own route pattern declares */
  path: VaultPathParams;
  mount?: VaultMount;
  /** the actor of the presented token; guaranteed on routes with `auth` */
  actor?: Actor;
  token?: string;
  rawBody?: Buffer;
  authority: Authority;
  /** the request as received (its raw `url`: `ocsp/*`) */
  request: Pick<FastifyRequest, 'url'>;
}

export type VaultHandler = (c: VaultCall) => Promise<VaultOutcome>;

export interface VaultRoute {
  /** path pattern below /v1/ (system routes) or below the mount (PKI routes), find-my-way syntax */
  path: string;
  /** false: no token needed (health, login, CA/CRL/cert reads); default true */
  auth?: boolean;
  /** 'raw': the body is not JSON (OCSP's DER request); handlers read `rawBody` */
  body?: 'raw';
  ops: Partial<Record<VaultOp, VaultHandler>>;
}

const json = (data: unknown, warnings?: string[]): VaultOutcome => ({ kind: 'json', data, warnings });
const actorOf = (c: VaultCall): Actor => c.actor!;

function mountEntry(m: VaultMount): Record<string, unknown> {
  return {
    type: 'pki',
    description: m.description,
    accessor: m.accessor,
    config: { default_lease_ttl: m.defaultLeaseTtl, max_lease_ttl: m.maxLeaseTtl, force_no_cache: false },
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    // a mount enabled without a CA has none until root/generate or intermediate/generate binds one
    options: m.caId ? { ca: m.caId } : null,
    uuid: m.uuid,
    plugin_version: '',
    running_plugin_version: 'builtin',
  };
}

function sealStatus(state: VaultSealState): Record<string, unknown> {
  return {
    type: 'shamir',
    initialized: true,
    sealed: state.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: '',
    version: '2.0.0+pkim',
    build_date: '',
    migration: false,
    recovery_seal: false,
    storage_type: 'pkim',
  };
}

/** sys/health query overrides are integers (activecode=…, sealedcode=…) */
function codeParam(q: Record<string, string>, name: string, fallback: number): number {
  const v = q[name];
  return v !== undefined && /^\d{3}$/.test(v) ? Number(v) : fallback;
}

export const SYSTEM_ROUTES: VaultRoute[] = [
  {
    path: 'sys/health',
    auth: false,
    ops: {
      async read(c) {
        const seal = await c.authority.vault.seal.state();
        const body = {
          initialized: true,
          sealed: seal.sealed,
          standby: false,
          performance_standby: false,
          replication_performance_mode: 'disabled',
          replication_dr_mode: 'disabled',
          server_time_utc: Math.floor(c.authority.clock.now() / 1000),
          version: '2.0.0+pkim',
          cluster_name: 'pki-manager',
          cluster_id: await c.authority.vault.mounts.clusterId(),
        };
        // sealed by an administrator, or the database or a key backend is down: not usable now
        const status = seal.sealed ? codeParam(c.query, 'sealedcode', 503) : codeParam(c.query, 'activecode', 200);
        return { kind: 'bare', status, body };
      },
    },
  },
  {
    path: 'sys/seal-status',
    auth: false,
    ops: {
      async read(c) {
        return { kind: 'bare', status: 200, body: sealStatus(await c.authority.vault.seal.state()) };
      },
    },
  },
  {
    // OpenBao: a root/sudo operation; here an administrator's token (ca:write)
    path: 'sys/seal',
    ops: {
      async write(c) {
        await c.authority.vault.seal.seal(actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  {
    // OpenBao takes unseal key shares; PKI Manager has none: an administrator's token lifts an administrator's seal
    path: 'sys/unseal',
    ops: {
      async write(c) {
        return { kind: 'bare', status: 200, body: sealStatus(await c.authority.vault.seal.unseal(actorOf(c))) };
      },
    },
  },
  {
    path: 'sys/mounts',
    ops: {
      async read(c) {
        const map: Record<string, unknown> = {};
        for (const m of await c.authority.vault.mounts.listMounts()) map[`${m.path}/`] = mountEntry(m);
        return { kind: 'json', data: map, top: map };
      },
    },
  },
  {
    path: 'sys/mounts/*',
    ops: {
      async read(c) {
        const { path, tune } = splitTune(c.path['*']);
        if (tune && path.startsWith('auth/')) return readAuthTune(c, path.slice('auth/'.length));
        const m = await c.authority.vault.mounts.getMount(path);
        if (!m) return { kind: 'missing' };
        if (!tune) return json(mountEntry(m));
        return json({
          default_lease_ttl: m.defaultLeaseTtl,
          max_lease_ttl: m.maxLeaseTtl,
          force_no_cache: false,
          description: m.description,
          options: m.caId ? { ca: m.caId } : null,
        });
      },
      async write(c) {
        const { path, tune } = splitTune(c.path['*']);
        if (tune && path.startsWith('auth/')) return writeAuthTune(c, path.slice('auth/'.length));
        if (tune) {
          await c.authority.vault.mounts.tuneMount(path, c.params, actorOf(c));
          return { kind: 'empty' };
        }
        const type = typeof c.params.type === 'string' ? c.params.type : '';
        if (type !== 'pki') throw new PkiError('vault.invalid_parameter', `plugin not found in the catalog: ${type}`);
        const options = (c.params.options ?? {}) as Record<string, unknown>;
        const config = (c.params.config ?? {}) as Record<string, unknown>;
        // `options.ca` binds the mount to an existing CA; without it (`vault secrets enable pki`) the mount has no CA
        // until `root/generate/internal` or `intermediate/generate/internal` makes one
        const ca = options.ca ?? config.ca;
        if (ca !== undefined && (typeof ca !== 'string' || !ca)) {
          throw new PkiError('vault.invalid_parameter', 'options.ca must name a CA (its id or name) when given');
        }
        await c.authority.vault.mounts.mount(
          {
            path,
            ca,
            description: typeof c.params.description === 'string' ? c.params.description : '',
            defaultLeaseTtl: config.default_lease_ttl,
            maxLeaseTtl: config.max_lease_ttl,
          },
          actorOf(c),
        );
        return { kind: 'empty' };
      },
      async delete(c) {
        await c.authority.vault.mounts.unmount(splitTune(c.path['*']).path, actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  {
    path: 'sys/internal/ui/mounts/*',
    ops: {
      async read(c) {
        const found = await c.authority.vault.mounts.findMount(c.path['*']);
        if (!found) return { kind: 'missing' };
        return json({ type: 'pki', path: `${found.mount.path}/`, options: null });
      },
    },
  },
  {
    // `vault auth list`: the methods this server answers (always enabled), repeated at the top level as sys/mounts
    path: 'sys/auth',
    ops: {
      async read(c) {
        const map = await c.authority.vault.auth.listMethods(actorOf(c));
        return { kind: 'json', data: map, top: map };
      },
    },
  },
  {
    // `vault auth enable approle|kubernetes` at the default path: accepted, nothing changes (enabled already);
    // another type or path 400; `vault auth disable` of a method 400; `<path>/tune` read and written (description)
    path: 'sys/auth/*',
    ops: {
      async read(c) {
        const { path, tune } = splitTune(c.path['*']);
        return tune ? readAuthTune(c, path) : json(await c.authority.vault.auth.readMethod(path, actorOf(c)));
      },
      async write(c) {
        const { path, tune } = splitTune(c.path['*']);
        if (tune) return writeAuthTune(c, path);
        await c.authority.vault.auth.enableMethod(path, c.params, actorOf(c));
        return { kind: 'empty' };
      },
      async delete(c) {
        await c.authority.vault.auth.disableMethod(c.path['*'], actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  {
    path: 'auth/token/lookup-self',
    ops: {
      async read(c) {
        const data = await c.authority.vault.auth.lookupSelf(c.token!);
        if (!data) throw new PkiError('vault.permission_denied', 'permission denied');
        return json(data);
      },
    },
  },
  {
    path: 'auth/token/revoke-self',
    ops: {
      async write(c) {
        await c.authority.vault.auth.revokeSelf(c.token!);
        return { kind: 'empty' };
      },
    },
  },
  {
    path: 'auth/token/renew-self',
    ops: {
      async write() {
        throw new PkiError('vault.invalid_parameter', 'lease is not renewable: log in again for a new token');
      },
    },
  },
  {
    path: 'auth/kubernetes/login',
    auth: false,
    ops: {
      async write(c) {
        return { kind: 'json', data: null, auth: await c.authority.vault.auth.kubernetesLogin(c.params) };
      },
    },
  },
  {
    path: 'auth/approle/login',
    auth: false,
    ops: {
      async write(c) {
        return { kind: 'json', data: null, auth: await c.authority.vault.auth.approleLogin(c.params) };
      },
    },
  },
  {
    path: 'auth/kubernetes/config',
    ops: {
      async read(c) {
        const cfg = await c.authority.vault.auth.readKubernetesConfig(actorOf(c));
        return cfg ? json(cfg) : { kind: 'missing' };
      },
      async write(c) {
        await c.authority.vault.auth.writeKubernetesConfig(c.params, actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  ...(['kubernetes', 'approle'] as const).flatMap((method): VaultRoute[] => [
    {
      path: `auth/${method}/role`,
      ops: {
        async list(c) {
          const keys = await c.authority.vault.auth.listAuthRoles(method, actorOf(c));
          return keys.length ? json({ keys }) : { kind: 'missing' };
        },
      },
    },
    {
      path: `auth/${method}/role/:name`,
      ops: {
        async read(c) {
          const r = await c.authority.vault.auth.readAuthRole(method, c.path.name, actorOf(c));
          return r ? json(r) : { kind: 'missing' };
        },
        async write(c) {
          await c.authority.vault.auth.writeAuthRole(method, c.path.name, c.params, actorOf(c));
          return { kind: 'empty' };
        },
        async delete(c) {
          await c.authority.vault.auth.deleteAuthRole(method, c.path.name, actorOf(c));
          return { kind: 'empty' };
        },
      },
    },
  ]),
  {
    path: 'auth/approle/role/:name/role-id',
    ops: {
      async read(c) {
        const id = await c.authority.vault.auth.approleRoleId(c.path.name, actorOf(c));
        return id ? json({ role_id: id }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'auth/approle/role/:name/secret-id',
    ops: {
      async write(c) {
        return json(await c.authority.vault.auth.approleSecretId(c.path.name, actorOf(c)));
      },
    },
  },
];

/**
 * `sys/auth/<path>/tune` and its twin `sys/mounts/auth/<path>/tune` (OpenBao's handleAuthTuneRead/Write for both; the
 * twin needs no sudo there): the same answers and permissions (ca:read reads, token:manage tunes)
 */
async function readAuthTune(c: VaultCall, path: string) {
  return json(await c.authority.vault.auth.readMethodTune(path, actorOf(c)));
}

async function writeAuthTune(c: VaultCall, path: string) {
  await c.authority.vault.auth.tuneMethod(path, c.params, actorOf(c));
  return { kind: 'empty' } as const;
}

function splitTune(p: string): { path: string; tune: boolean } {
  const clean = p.replace(/\/+$/, '');
  return clean.endsWith('/tune') ? { path: clean.slice(0, -5), tune: true } : { path: clean, tune: false };
}

async function chainOrEmpty(c: VaultCall) {
  return c.authority.vault.pki.chainOf(c.mount!);
}

/** Routes below a PKI mount. */
export const MOUNT_ROUTES: VaultRoute[] = [
  {
    path: 'ca',
    auth: false,
    ops: {
      async read(c) {
        const ch = await chainOrEmpty(c);
        return {
          kind: 'raw',
          contentType: 'application/pkix-cert',
          body: ch ? Buffer.from(fromPem(ch.caPem, 'CERTIFICATE')) : null,
        };
      },
    },
  },
  {
    path: 'ca/pem',
    auth: false,
    ops: {
      async read(c) {
        const ch = await chainOrEmpty(c);
        return { kind: 'raw', contentType: 'application/pem-certificate-chain', body: ch ? ch.caPem : null };
      },
    },
  },
  {
    path: 'ca_chain',
    auth: false,
    ops: {
      async read(c) {
        const ch = await chainOrEmpty(c);
        return { kind: 'raw', contentType: 'application/pkix-cert', body: ch ? ch.chain.join('\n') : null };
      },
    },
  },
  {
    path: 'cert/ca',
    auth: false,
    ops: {
      async read(c) {
        const ch = await chainOrEmpty(c);
        return ch ? json({ certificate: ch.caPem, revocation_time: 0 }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'cert/ca_chain',
    auth: false,
    ops: {
      async read(c) {
        const ch = await chainOrEmpty(c);
        if (!ch) return { kind: 'missing' };
        const chain = ch.chain.join('\n');
        return json({ certificate: chain, ca_chain: chain, revocation_time: 0 });
      },
    },
  },
  {
    path: 'cert/crl',
    auth: false,
    ops: {
      async read(c) {
        const der = await c.authority.vault.pki.crlDer(c.mount!);
        return der ? json({ certificate: toPem(der, 'X509 CRL').trim(), revocation_time: 0 }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'cert/:serial',
    auth: false,
    ops: {
      async read(c) {
        const data = await c.authority.vault.pki.readCert(c.mount!, c.path.serial);
        return data ? json(data) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'cert/:serial/raw',
    auth: false,
    ops: {
      async read(c) {
        const data = await c.authority.vault.pki.readCert(c.mount!, c.path.serial);
        if (!data) return { kind: 'missing' };
        return {
          kind: 'raw',
          contentType: 'application/pkix-cert',
          body: Buffer.from(fromPem(String(data.certificate), 'CERTIFICATE')),
        };
      },
    },
  },
  {
    path: 'cert/:serial/raw/pem',
    auth: false,
    ops: {
      async read(c) {
        const data = await c.authority.vault.pki.readCert(c.mount!, c.path.serial);
        if (!data) return { kind: 'missing' };
        return { kind: 'raw', contentType: 'application/pem-certificate-chain', body: String(data.certificate) };
      },
    },
  },
  {
    path: 'certs',
    ops: {
      async list(c) {
        const keys = await c.authority.vault.pki.listCerts(c.mount!, false, c.params, actorOf(c));
        return keys.length ? json({ keys }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'certs/revoked',
    ops: {
      async list(c) {
        const keys = await c.authority.vault.pki.listCerts(c.mount!, true, c.params, actorOf(c));
        return keys.length ? json({ keys }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'crl',
    auth: false,
    ops: {
      async read(c) {
        const der = await c.authority.vault.pki.crlDer(c.mount!);
        return { kind: 'raw', contentType: 'application/pkix-crl', body: der ? Buffer.from(der) : null };
      },
    },
  },
  {
    path: 'crl/pem',
    auth: false,
    ops: {
      async read(c) {
        const der = await c.authority.vault.pki.crlDer(c.mount!);
        return { kind: 'raw', contentType: 'application/x-pem-file', body: der ? toPem(der, 'X509 CRL').trim() : null };
      },
    },
  },
  // the delta CRL (none is made: 204 with no body, as OpenBao's with delta CRLs off)
  ...(['', '/pem'] as const).map((form): VaultRoute => ({
    path: `crl/delta${form}`,
    auth: false,
    ops: {
      async read(c) {
        const der = await c.authority.vault.pki.deltaCrlDer(c.mount!);
        return form === '/pem'
          ? { kind: 'raw', contentType: 'application/x-pem-file', body: der ? toPem(der, 'X509 CRL').trim() : null }
          : { kind: 'raw', contentType: 'application/pkix-crl', body: der ? Buffer.from(der) : null };
      },
    },
  })),
  {
    path: 'crl/rotate',
    ops: {
      async read(c) {
        const r = await c.authority.vault.pki.rotateCrl(c.mount!, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  {
    path: 'crl/rotate-delta',
    ops: {
      async read(c) {
        const r = await c.authority.vault.pki.rotateDeltaCrl(c.mount!, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  {
    path: 'roles',
    ops: {
      async list(c) {
        const keys = await c.authority.vault.mounts.listRoles(c.mount!.path, actorOf(c));
        return keys.length ? json({ keys }) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'roles/:name',
    ops: {
      async read(c) {
        const role = await c.authority.vault.mounts.readRole(c.mount!.path, c.path.name, actorOf(c));
        return role ? json(role) : { kind: 'missing' };
      },
      async write(c) {
        const role = await c.authority.vault.mounts.writeRole(c.mount!.path, c.path.name, c.params, actorOf(c));
        return json(role, await c.authority.vault.issuers.roleWarnings(c.mount!, String(role.issuer_ref)));
      },
      async patch(c) {
        const role = await c.authority.vault.mounts.patchRole(c.mount!.path, c.path.name, c.params, actorOf(c));
        return json(role, await c.authority.vault.issuers.roleWarnings(c.mount!, String(role.issuer_ref)));
      },
      async delete(c) {
        await c.authority.vault.mounts.deleteRole(c.mount!.path, c.path.name, actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  // issue/sign/sign-verbatim (the role's issuer_ref, else the mount's default issuer), and their Vault 1.11+ twins
  // below `issuer/:ref/` (that issuer of the mount, whatever the role names): the same handlers, one signing pipeline
  ...['', 'issuer/:ref/'].flatMap((prefix): VaultRoute[] => [
    ...(['issue', 'sign'] as const).map((kind): VaultRoute => ({
      path: `${prefix}${kind}/:role`,
      ops: {
        async write(c) {
          const m = prefix ? await c.authority.vault.issuers.requireForIssuance(c.mount!, c.path.ref) : c.mount!;
          const r = await c.authority.vault.pki[kind](m, c.path.role, c.params, actorOf(c), prefix !== '');
          return { kind: 'json', data: r.data, warnings: r.warnings, lease: r.lease };
        },
      },
    })),
    ...['sign-verbatim', 'sign-verbatim/:role'].map((path): VaultRoute => ({
      path: `${prefix}${path}`,
      ops: {
        async write(c) {
          const m = prefix ? await c.authority.vault.issuers.requireForIssuance(c.mount!, c.path.ref) : c.mount!;
          const role = path.endsWith(':role') ? c.path.role : undefined;
          const r = await c.authority.vault.pki.signVerbatim(m, role, c.params, actorOf(c), prefix !== '');
          return { kind: 'json', data: r.data, warnings: r.warnings, lease: r.lease };
        },
      },
    })),
  ]),
  {
    // OpenBao: LIST is unauthenticated (`issuers/`); a GET without ?list is 405
    path: 'issuers',
    auth: false,
    ops: {
      async list(c) {
        const data = await c.authority.vault.issuers.list(c.mount!);
        return data ? json(data) : { kind: 'missing' };
      },
    },
  },
  {
    // OpenBao asks a token for the whole entry (only json/pem/der/crl* are unauthenticated)
    path: 'issuer/:ref',
    ops: {
      async read(c) {
        return json(await c.authority.vault.issuers.read(c.mount!, c.path.ref, actorOf(c)));
      },
      // issuer_name renames the CA (Terraform's vault_pki_secret_backend_issuer); other fields only as they are.
      // POST replaces (a field not given: its default, as OpenBao), PATCH merges
      async write(c) {
        const replace = { replace: true };
        return json(await c.authority.vault.issuers.write(c.mount!, c.path.ref, c.params, actorOf(c), replace));
      },
      async patch(c) {
        return json(await c.authority.vault.issuers.write(c.mount!, c.path.ref, c.params, actorOf(c)));
      },
      // the issuer's CA deleted (cas.delete, its refusals), its key kept; a ref the mount does not know: 204
      async delete(c) {
        const warnings = await c.authority.vault.issuers.delete(c.mount!, c.path.ref, actorOf(c));
        return warnings ? json(null, warnings) : { kind: 'empty' };
      },
    },
  },
  {
    // OpenBao: every issuer and key of the mount — here its CAs (cas.delete, their keys destroyed)
    path: 'root',
    ops: {
      async delete(c) {
        return json(null, await c.authority.vault.issuers.deleteRoot(c.mount!, actorOf(c)));
      },
    },
  },
  // OpenBao's sign-intermediate: the mount's issuer signs a CSR as a subordinate CA certificate (one signing pipeline)
  ...['root/sign-intermediate', 'issuer/:ref/sign-intermediate'].map((path): VaultRoute => ({
    path,
    ops: {
      async write(c) {
        const ref = path.startsWith('issuer/') ? c.path.ref : 'default';
        const r = await c.authority.vault.pki.signIntermediate(c.mount!, ref, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  })),
  // OpenBao's unified-CRL tools: a CRL of the entries given, or of CRLs this issuer signed, signed by its key
  {
    path: 'issuer/:ref/sign-revocation-list',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.signRevocationList(c.mount!, c.path.ref, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  {
    path: 'issuer/:ref/resign-crls',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.resignCrls(c.mount!, c.path.ref, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  // OpenBao's root/rotate: a new root with a new key, an issuer of the mount, not its default until config/issuers
  {
    path: 'root/rotate/:name',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.rotateRoot(c.mount!, c.path.name, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  // OpenBao's sign-self-issued: the mount's issuer certifies a self-signed CA certificate's key (cross-signing)
  ...['root/sign-self-issued', 'issuer/:ref/sign-self-issued'].map((path): VaultRoute => ({
    path,
    ops: {
      async write(c) {
        const ref = path.startsWith('issuer/') ? c.path.ref : 'default';
        const r = await c.authority.vault.pki.signSelfIssued(c.mount!, ref, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  })),
  // OpenBao's CA generation: a root (`pkim ca create`) or a pending intermediate and its CSR (`pkim ca create
  // --external`) made by the authority's CA services, a new issuer of this mount (its default when it has none)
  ...(['root', 'intermediate'] as const).flatMap((kind) =>
    [`${kind}/generate/:name`, `issuers/generate/${kind}/:name`].map((path): VaultRoute => ({
      path,
      ops: {
        async write(c) {
          const pki = c.authority.vault.pki;
          const args = [c.mount!, c.path.name, c.params, actorOf(c)] as const;
          const r = kind === 'root' ? await pki.generateRoot(...args) : await pki.generateIntermediate(...args);
          return json(r.data, r.warnings);
        },
      },
    })),
  ),
  {
    // the certificate signed for a pending CA of the mount: imported as `pkim ca import` does
    path: 'intermediate/set-signed',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.setSigned(c.mount!, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  ...['config/ca', 'issuers/import/bundle'].map((path): VaultRoute => ({
    // pem_bundle: with a private key, an existing CA made an issuer of the mount (as `pkim ca import-existing`)
    path,
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.importBundle(c.mount!, c.params, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  })),
  {
    // OpenBao: revokes the issuer's certificate only (not what it issued); a second call answers the same entry
    path: 'issuer/:ref/revoke',
    ops: {
      async write(c) {
        const r = await c.authority.vault.issuers.revoke(c.mount!, c.path.ref, actorOf(c));
        return json(r.data, r.warnings);
      },
    },
  },
  {
    path: 'issuer/:ref/json',
    auth: false,
    ops: {
      async read(c) {
        return json(await c.authority.vault.issuers.readJson(c.mount!, c.path.ref));
      },
    },
  },
  ...(['pem', 'der'] as const).map((form): VaultRoute => ({
    path: `issuer/:ref/${form}`,
    auth: false,
    ops: {
      async read(c) {
        const { certificate } = await c.authority.vault.issuers.resolve(c.mount!, c.path.ref);
        return form === 'pem'
          ? { kind: 'raw', contentType: 'application/pem-certificate-chain', body: certificate }
          : {
              kind: 'raw',
              contentType: 'application/pkix-cert',
              body: Buffer.from(fromPem(certificate, 'CERTIFICATE')),
            };
      },
    },
  })),
  // the issuer's CRL (its CA's one CRL): JSON `{crl: PEM}`, PEM or DER — OpenBao's three forms; its delta CRL the
  // same three (none is made: `{crl: ""}`, 204)
  ...(['', '/pem', '/der', '/delta', '/delta/pem', '/delta/der'] as const).map((form): VaultRoute => ({
    path: `issuer/:ref/crl${form}`,
    auth: false,
    ops: {
      async read(c) {
        const { ca } = await c.authority.vault.issuers.resolve(c.mount!, c.path.ref);
        const issuerMount = { ...c.mount!, caId: ca.id };
        const der = form.startsWith('/delta')
          ? await c.authority.vault.pki.deltaCrlDer(issuerMount)
          : await c.authority.vault.pki.crlDer(issuerMount);
        if (form.endsWith('/der'))
          return { kind: 'raw', contentType: 'application/pkix-crl', body: der ? Buffer.from(der) : null };
        const pem = der ? toPem(der, 'X509 CRL') : '';
        return form.endsWith('/pem')
          ? { kind: 'raw', contentType: 'application/x-pem-file', body: pem || null }
          : json({ crl: pem });
      },
    },
  })),
  {
    // a key without an issuer, made by key custody through the authority (internal; exported: its PEM once)
    path: 'keys/generate/:type',
    ops: {
      async write(c) {
        return json(await c.authority.vault.issuers.generateKey(c.mount!, c.path.type, c.params, actorOf(c)));
      },
    },
  },
  {
    // the mount's keys: its CA's and those keys/generate made; both need a token (OpenBao)
    path: 'keys',
    ops: {
      async list(c) {
        const data = await c.authority.vault.issuers.listKeys(c.mount!, actorOf(c));
        return data ? json(data) : { kind: 'missing' };
      },
    },
  },
  {
    path: 'key/:ref',
    ops: {
      async read(c) {
        return json(await c.authority.vault.issuers.readKey(c.mount!, c.path.ref, actorOf(c)));
      },
      // key_name is the CA's name: renamed as issuer_name renames it
      async write(c) {
        return json(await c.authority.vault.issuers.writeKey(c.mount!, c.path.ref, c.params, actorOf(c)));
      },
      async patch(c) {
        return json(await c.authority.vault.issuers.writeKey(c.mount!, c.path.ref, c.params, actorOf(c)));
      },
      // an issuer's key: refused as OpenBao refuses a key in use; a ref it does not know: 204
      async delete(c) {
        await c.authority.vault.issuers.deleteKey(c.mount!, c.path.ref, actorOf(c));
        return { kind: 'empty' };
      },
    },
  },
  {
    // the mount's default key (OpenBao's): a key of keys/generate or an issuer's
    path: 'config/keys',
    ops: {
      async read(c) {
        return json(await c.authority.vault.issuers.readKeysConfig(c.mount!, actorOf(c)));
      },
      async write(c) {
        return json(await c.authority.vault.issuers.writeKeysConfig(c.mount!, c.params, actorOf(c)));
      },
    },
  },
  {
    path: 'config/issuers',
    ops: {
      async read(c) {
        return json(await c.authority.vault.issuers.readConfig(c.mount!, actorOf(c)));
      },
      async write(c) {
        return json(await c.authority.vault.issuers.writeConfig(c.mount!, c.params, actorOf(c)));
      },
    },
  },
  // OpenBao's root/replace: config/issuers' write of `default` (`next` when not given), as OpenBao's alias
  {
    path: 'root/replace',
    ops: {
      async write(c) {
        return json(await c.authority.vault.issuers.writeConfig(c.mount!, c.params, actorOf(c), { replace: true }));
      },
    },
  },
  ...(['revoke', 'revoke-with-key'] as const).map((path): VaultRoute => ({
    path,
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.revoke(c.mount!, c.params, actorOf(c), {
          withKey: path === 'revoke-with-key',
        });
        return json(r.data, r.warnings);
      },
    },
  })),
  {
    path: 'ocsp',
    auth: false,
    body: 'raw',
    ops: {
      async write(c) {
        return ocspOutcome(await c.authority.vault.pki.ocsp(c.mount!, c.rawBody ?? new Uint8Array()));
      },
    },
  },
  {
    path: 'ocsp/*',
    auth: false,
    ops: {
      async read(c) {
        return ocspOutcome(await c.authority.vault.pki.ocsp(c.mount!, ocspGetRequest(c.request.url, c.mount!.path)));
      },
    },
  },
  {
    path: 'config/urls',
    ops: {
      async read(c) {
        return json(await c.authority.vault.mounts.readUrls(c.mount!.path, actorOf(c)));
      },
      async write(c) {
        return json(await c.authority.vault.mounts.writeUrls(c.mount!.path, c.params, actorOf(c)));
      },
    },
  },
  {
    path: 'config/crl',
    ops: {
      async read(c) {
        return json(crlConfigResponse(await c.authority.vault.mounts.readCrlConfig(c.mount!.path, actorOf(c))));
      },
      async write(c) {
        return json(
          crlConfigResponse(await c.authority.vault.mounts.writeCrlConfig(c.mount!.path, c.params, actorOf(c))),
        );
      },
    },
  },
  {
    // OpenBao's mount-local address (`path`, `aia_path`): kept and read back, templates nothing here
    path: 'config/cluster',
    ops: {
      async read(c) {
        return json(await c.authority.vault.mounts.readClusterConfig(c.mount!.path, actorOf(c)));
      },
      async write(c) {
        return json(await c.authority.vault.mounts.writeClusterConfig(c.mount!.path, c.params, actorOf(c)));
      },
    },
  },
  {
    path: 'config/auto-tidy',
    ops: {
      async read(c) {
        return json(autoTidyResponse(await c.authority.vault.pki.readAutoTidy(c.mount!.path, actorOf(c))));
      },
      async write(c) {
        return json(autoTidyResponse(await c.authority.vault.pki.writeAutoTidy(c.mount!.path, c.params, actorOf(c))));
      },
    },
  },
  {
    path: 'tidy',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.tidy(c.mount!, c.params, actorOf(c));
        // Vault: 202 when started; 200 + warning when one is already running
        return { kind: 'json', status: r.started ? 202 : 200, data: null, warnings: r.warnings };
      },
    },
  },
  {
    path: 'tidy-cancel',
    ops: {
      async write(c) {
        const r = await c.authority.vault.pki.tidyCancel(c.mount!, actorOf(c));
        return json(r.status, r.warnings);
      },
    },
  },
  {
    path: 'tidy-status',
    ops: {
      async read(c) {
        return json(await c.authority.vault.pki.tidyStatus(c.mount!, actorOf(c)));
      },
    },
  },
];

function ocspOutcome(r: { status: number; der: Uint8Array }): VaultOutcome {
  return {
    kind: 'raw',
    status: r.status,
    contentType: 'application/ocsp-response',
    body: Buffer.from(r.der.buffer, r.der.byteOffset, r.der.byteLength),
  };
}

/**
 * `GET <mount>/ocsp/<base64 DER request>`: the whole remainder of the raw URL (the base64 may hold `/` and `+`, and
 * arrive URL-encoded); anything that is not base64 becomes an empty request (answered `malformedRequest`).
 */
export function ocspGetRequest(rawUrl: string, mountPath: string): Uint8Array {
  const prefix = `/v1/${mountPath}/ocsp/`;
  const path = rawUrl.split('?')[0] ?? '';
  const tail = path.startsWith(prefix) ? path.slice(prefix.length) : '';
  try {
    const text = decodeURIComponent(tail).replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
    return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length <= 128 * 1024
      ? Buffer.from(text, 'base64')
      : new Uint8Array();
  } catch {
    return new Uint8Array();
  }
}

/** `?list=true|1|t…` (Go ParseBool) */
export function isListQuery(q: Record<string, string>): boolean {
  if (q.list === undefined) return false;
  try {
    return parseVaultBool('list', q.list);
  } catch {
    return false;
  }
}
