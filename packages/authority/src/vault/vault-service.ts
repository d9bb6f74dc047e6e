import type { AuditService, AuthService, CaRevocationService } from '../types';
import { createVaultMountService, issuersOfMount, type VaultMount } from './vault-mount-service';
import { createVaultAuthService } from './vault-auth-service';
import { createVaultPkiService, type VaultPkiServiceDeps } from './vault-pki-service';
import { createVaultIssueService, vaultRoleProvisionerId } from './vault-issue-service';
import type { Actor } from '../types';
import { authorize } from '../permissions';
import type { CertificateSort } from '@pkim/store';
import { createVaultSealService } from './vault-seal-service';
import { createVaultIssuerService } from './vault-issuer-service';
import { createVaultSignIntermediate } from './vault-sign-intermediate';
import { createVaultGenerateCa } from './vault-generate-ca';
import { createVaultAutoTidy } from './vault-auto-tidy';
import { createVaultDeltaRebuild } from './vault-delta-rebuild';
import { createVaultRevocationLists } from './vault-revocation-lists';
import { keystoreOverview } from './vault-keystore-overview';
import { createVaultKeyService } from './vault-keys';
import type { KeyBackends } from '@pkim/keys';
import type { SignFunction } from '../signing/sign-request';

/** what the PKI part (createVaultPkiService) needs, and the rest of Vault's: auth, audit, signing, health */
export interface VaultServiceDeps extends VaultPkiServiceDeps {
  auth: AuthService;
  audit: AuditService;
  /** the one signing pipeline */
  sign: SignFunction;
  /** CA revocations (`issuer/:ref/revoke`, without cascade) */
  revocation: CaRevocationService;
  /** key custody: `keys/generate` makes a mount's keys without an issuer there */
  keys: KeyBackends;
  /** the authority's readiness (database + key backends): the Vault API is sealed while it fails */
  health(): Promise<{ ok: boolean }>;
  /** a mount's config/crl changed the CRL/OCSP validity of this CA: drop cached CRLs and timings */
  onCrlConfigured?: (caId: string) => void;
}

/**
 * The `vault` service of the authority: Vault/OpenBao PKI semantics (mounts bound to CAs, roles, auth methods,
 * issue/sign through the one signing pipeline with a Vault-role provisioner). The HTTP shapes live in the
 * server's vault transport; this service speaks Vault's vocabulary but returns plain data.
 */
export function createVaultService(deps: VaultServiceDeps) {
  const mounts = createVaultMountService({
    store: deps.store,
    clock: deps.clock,
    onCrlConfigured: deps.onCrlConfigured,
  });
  const auth = createVaultAuthService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    auth: deps.auth,
    audit: deps.audit,
    clusterId: () => mounts.clusterId(),
  });
  /** the mount's issuers (its CAs) as Vault 1.11+ names them: `issuers`, `issuer/:ref`, `config/issuers` */
  const caIssuers = createVaultIssuerService({
    cas: deps.cas,
    revocation: deps.revocation,
    mounts,
    unbindKeepingKey: (mount, ca, actor) => keyService.unbindKeepingKey(mount, ca, actor),
  });
  /** keys without an issuer (`keys/generate`) beside the CA's key: `keys`, `key/:ref` answer both */
  const keyService = createVaultKeyService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    keys: deps.keys,
    mounts,
    issuers: caIssuers,
  });
  const issuers = {
    ...caIssuers,
    ...keyService.paths,
    /** `DELETE root`: the CA deleted and its key destroyed, then the mount's other keys (OpenBao: every key) */
    async deleteRoot(mount: VaultMount, actor: Actor): Promise<string[]> {
      const caKeyUris: string[] = [];
      for (const id of issuersOfMount(mount)) {
        const uri = (await deps.store.cas.findById(id))?.keyUri;
        if (uri) caKeyUris.push(uri);
      }
      const warnings = await caIssuers.deleteRoot(mount, actor);
      await keyService.forgetAll(mount, actor, caKeyUris);
      return warnings;
    },
  };
  // issuerView is the issuer service's (synchronous, per request): not a member of the service's `mounts`
  const { issuerView: _view, ...mountsOut } = mounts;
  const mountPaths = {
    ...mountsOut,
    /** the mount's settings go (its stored keys' entries too), then its keys no CA uses are destroyed */
    async unmount(path: string, actor: Actor): Promise<void> {
      const m = await mounts.getMount(path);
      const stored = m ? await keyService.entriesOf(m.path) : [];
      await mounts.unmount(path, actor);
      await keyService.destroyUnused(stored, actor);
    },
  };
  // startTidy (synchronous: it starts the run and hands back its promise) stays inside: auto-tidy's runs use it
  const { startTidy, ...pkiCore } = createVaultPkiService(deps);
  const pki = {
    ...pkiCore,
    /** `config/auto-tidy` and the automatic runs the server's background job `vault-auto-tidy` asks for */
    ...createVaultAutoTidy({
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      mounts,
      pki: { startTidy, lastTidyAt: pkiCore.lastTidyAt },
    }),
    /** `delta_rebuild_interval`: what the server's delta CRL schedule asks for (vault-delta-rebuild.ts) */
    ...createVaultDeltaRebuild({
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      mounts,
      crl: deps.crl,
    }),
    ...createVaultIssueService({
      clock: deps.clock,
      sign: deps.sign,
      mounts,
      requireIssuer: (mount, ref) => issuers.requireForIssuance(mount, ref),
      issuerKeyType: async (mount) => (await issuers.resolve(mount, 'default')).ca.keyType,
      issuerEnd: async (mount) => {
        const { ca } = await issuers.resolve(mount, 'default');
        return { notAfter: ca.notAfter, leafNotAfterBehavior: ca.leafNotAfterBehavior };
      },
    }),
    /** `root/sign-intermediate`, `issuer/:ref/sign-intermediate`: a CSR signed as a subordinate CA certificate */
    ...createVaultSignIntermediate({ clock: deps.clock, sign: deps.sign, issuers }),
    /** `issuer/:ref/sign-revocation-list`, `issuer/:ref/resign-crls`: CRLs of given entries (the CRL service's) */
    ...createVaultRevocationLists({ crl: deps.crl, issuers }),
    /** `root/generate/internal`, `intermediate/generate/internal`, `intermediate/set-signed`: the CA services' doors */
    ...createVaultGenerateCa({ clock: deps.clock, cas: deps.cas, mounts, keys: keyService }),
  };
  const seal = createVaultSealService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    health: () => deps.health(),
  });
  /**
   * The certificates issued through a role of a mount (recorded provisioner, migration 0020), newest first by
   * default; the caller's CA limits apply as in every listing. Certificates a `no_store` role issued are not kept.
   */
  async function roleCertificates(
    q: { mount: string; role: string; status?: 'active' | 'revoked' | 'expired'; sort?: CertificateSort } & {
      limit?: number;
      cursor?: string | null;
    },
    actor: Actor,
  ) {
    authorize(actor, 'certificate:read');
    const m = await mounts.requireMount(q.mount);
    return deps.certificates.list(
      {
        provisioner: vaultRoleProvisionerId(m.path, q.role),
        status: q.status,
        sort: q.sort,
        limit: q.limit,
        cursor: q.cursor,
      },
      actor,
    );
  }

  return {
    mounts: mountPaths,
    auth,
    pki,
    issuers,
    seal,
    roleCertificates,
    /** the tenant keystores as the CA sees them (certificates of the `keystore-*` roles, by name) */
    keystores: (q: { mount?: string }, actor: Actor) =>
      keystoreOverview({ mounts, certificates: deps.certificates }, q, actor),
  };
}

export type VaultService = ReturnType<typeof createVaultService>;
