import type { CertificateRow } from '@pkim/store';
import type { Actor, CertificateService } from '../types';
import { authorize } from '../permissions';
import { vaultRoleProvisionerId } from './vault-issue-service';
import type { VaultMountService } from './vault-mount-service';

/** Roles written by `pkim keystore init-roles` (packages/keystore-certs): `keystore-<keystore type>`. */
export const KEYSTORE_ROLE_PREFIX = 'keystore-';
/** certificates read per keystore role (newest first): the overview of a role with more shows the newest ones */
const MAX_PER_ROLE = 5000;
const PAGE = 1000;

/**
 * What the CA knows of a tenant's keystore connection: every certificate issued to the same name (the template's
 * common name is per tenant and keystore type) through the keystore role. `rotating`: more than one still valid
 * (the previous one is in its grace period); `disconnected`: all revoked; `expired`: none valid, not all revoked.
 */
export interface KeystoreConnectionView {
  mount: string;
  role: string;
  keystoreType: string;
  commonName: string;
  dnsNames: string[];
  state: 'active' | 'rotating' | 'disconnected' | 'expired';
  /** the newest valid certificate, else the newest one */
  current: CertificateRow;
  active: number;
  revoked: number;
  total: number;
}

/**
 * The tenant keystores as the authority sees them. The lifecycle state itself (sealed keys, pending rotations,
 * grace deadlines) lives in the keystore client's own database — possibly on another machine, possibly talking to
 * OpenBao — so it is not read here: this is derived from the certificates issued through the keystore roles.
 */
export async function keystoreOverview(
  deps: { mounts: VaultMountService; certificates: CertificateService },
  q: { mount?: string },
  actor: Actor,
): Promise<KeystoreConnectionView[]> {
  authorize(actor, 'certificate:read');
  const mounts = q.mount ? [await deps.mounts.requireMount(q.mount)] : await deps.mounts.listMounts();
  const out: KeystoreConnectionView[] = [];
  for (const m of mounts) {
    const roles = (await deps.mounts.listRolesWithPolicy(m.path, actor)).filter((r) =>
      r.name.startsWith(KEYSTORE_ROLE_PREFIX),
    );
    for (const { name } of roles) {
      const rows: CertificateRow[] = [];
      let cursor: string | null = null;
      do {
        const page = await deps.certificates.list(
          { provisioner: vaultRoleProvisionerId(m.path, name), limit: PAGE, cursor },
          actor,
        );
        rows.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && rows.length < MAX_PER_ROLE);
      const byName = new Map<string, CertificateRow[]>();
      for (const c of rows) {
        const key = c.commonName ?? c.subjectDn;
        byName.set(key, [...(byName.get(key) ?? []), c]);
      }
      for (const [commonName, certs] of byName) {
        const active = certs.filter((c) => c.status === 'active');
        const revoked = certs.filter((c) => c.status === 'revoked').length;
        out.push({
          mount: m.path,
          role: name,
          keystoreType: name.slice(KEYSTORE_ROLE_PREFIX.length),
          commonName,
          dnsNames: certs[0]!.sans.dns ?? [],
          state:
            active.length > 1
              ? 'rotating'
              : active.length === 1
                ? 'active'
                : revoked === certs.length
                  ? 'disconnected'
                  : 'expired',
          current: active[0] ?? certs[0]!,
          active: active.length,
          revoked,
          total: certs.length,
        });
      }
    }
  }
  const order = (v: KeystoreConnectionView) => `${v.keystoreType}\u0000${v.commonName}\u0000${v.mount}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
