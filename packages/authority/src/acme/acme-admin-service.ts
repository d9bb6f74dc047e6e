import { PkiError, type Clock } from '@pkim/shared';
import type { AcmeAccountRow, AcmeIdentifierJson, AcmeProblemJson, Store } from '@pkim/store';
import type { Actor } from '../types';
import { authorize } from '../permissions';
import { auditEvent } from '../audit-service';
import { checkActorMayUseCa } from '../signing/provisioner-policy';

/** An external account binding key as the console and CLI list it: never its HMAC key. */
export interface AcmeEabKeyView {
  kid: string;
  caId: string;
  /** `unused` keys can still bind one account */
  status: 'unused' | 'used';
  accountId: string | null;
  createdBy: string;
  createdAt: string;
  usedAt: string | null;
}

export interface AcmeOrderView {
  id: string;
  accountId: string;
  caId: string;
  status: string;
  identifiers: AcmeIdentifierJson[];
  notBefore: string | null;
  notAfter: string | null;
  expiresAt: string;
  error: AcmeProblemJson | null;
  /** the issued certificate (`crt_…`) once the order is valid */
  certificateId: string | null;
  replaces: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Administration of ACME directories beside the protocol: EAB keys, orders, accounts (console, CLI). */
export interface AcmeAdminService {
  listEabKeys(ca: string | undefined, actor: Actor): Promise<AcmeEabKeyView[]>;
  /**
   * The key can bind no account any more (its row is deleted); when it already bound one, that account is
   * deactivated too (RFC 8555 §7.3.6: it can no longer order or revoke). Audited `acme.eab_key_revoked`.
   */
  revokeEabKey(kid: string, actor: Actor): Promise<{ kid: string; deactivatedAccount: string | null }>;
  /** newest first; the orders of one account, or of every account of a directory */
  listOrders(query: { ca?: string; account?: string; limit?: number }, actor: Actor): Promise<AcmeOrderView[]>;
  /** an operator's deactivation (as if the account had asked): audited `acme.account_deactivated` */
  deactivateAccount(accountId: string, actor: Actor): Promise<{ id: string; status: 'deactivated' }>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
const MAX_ORDERS = 500;

export function createAcmeAdminService(deps: { store: Store; clock: Clock }): AcmeAdminService {
  const { store, clock } = deps;

  async function caOf(ref: string) {
    const ca = (await store.cas.findById(ref)) ?? (await store.cas.findByName(ref));
    if (!ca) throw new PkiError('ca.not_found', `no CA with id or name '${ref}'`);
    return ca;
  }

  /** the account, if the actor may act on its CA (else not found: another CA's account is not revealed) */
  async function accountFor(id: string, actor: Actor): Promise<AcmeAccountRow> {
    const a = await store.acme.accountById(id);
    if (a) {
      try {
        checkActorMayUseCa(actor, await store.cas.findById(a.caId));
        return a;
      } catch {
        // another CA's
      }
    }
    throw new PkiError('acme.not_found', `no ACME account '${id}'`);
  }

  async function mayUse(actor: Actor, caId: string): Promise<boolean> {
    if (!actor.resources?.cas) return true;
    try {
      checkActorMayUseCa(actor, await store.cas.findById(caId));
      return true;
    } catch {
      return false;
    }
  }

  return {
    async listEabKeys(ref, actor) {
      authorize(actor, 'ca:read');
      const ca = ref === undefined ? undefined : await caOf(ref);
      checkActorMayUseCa(actor, ca);
      const out: AcmeEabKeyView[] = [];
      for (const k of await store.acme.listEabKeys(ca?.id)) {
        if (!(await mayUse(actor, k.caId))) continue;
        out.push({
          kid: k.id,
          caId: k.caId,
          status: k.accountId ? 'used' : 'unused',
          accountId: k.accountId,
          createdBy: k.createdBy,
          createdAt: iso(k.createdAt),
          usedAt: isoOrNull(k.usedAt),
        });
      }
      return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.kid.localeCompare(a.kid));
    },

    async revokeEabKey(kid, actor) {
      authorize(actor, 'ca:write');
      const key = await store.acme.eabKeyById(kid);
      if (!key || !(await mayUse(actor, key.caId)))
        throw new PkiError('acme.not_found', `no external account binding key '${kid}'`);
      const account = key.accountId ? await store.acme.accountById(key.accountId) : undefined;
      const deactivate = account?.status === 'valid' ? account : undefined;
      const t = clock.now();
      await store.commit({
        acme: {
          deleteEabKeys: [kid],
          ...(deactivate
            ? { updateAccounts: [{ id: deactivate.id, patch: { status: 'deactivated' as const, updatedAt: t } }] }
            : {}),
        },
        audit: [
          auditEvent(clock, actor, 'acme.eab_key_revoked', kid, {
            caId: key.caId,
            accountId: key.accountId,
            accountDeactivated: !!deactivate,
          }),
        ],
      });
      return { kid, deactivatedAccount: deactivate?.id ?? null };
    },

    async listOrders(query, actor) {
      authorize(actor, 'ca:read');
      const limit = Math.max(1, Math.min(query.limit ?? 100, MAX_ORDERS));
      let accounts: AcmeAccountRow[];
      if (query.account) accounts = [await accountFor(query.account, actor)];
      else {
        const ca = query.ca === undefined ? undefined : await caOf(query.ca);
        checkActorMayUseCa(actor, ca);
        accounts = [];
        for (const a of await store.acme.listAccounts(ca?.id)) if (await mayUse(actor, a.caId)) accounts.push(a);
      }
      const rows = (await Promise.all(accounts.map((a) => store.acme.listOrders(a.id, limit)))).flat();
      rows.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
      return rows.slice(0, limit).map((o) => ({
        id: o.id,
        accountId: o.accountId,
        caId: o.caId,
        status: o.status,
        identifiers: o.identifiers,
        notBefore: isoOrNull(o.notBefore),
        notAfter: isoOrNull(o.notAfter),
        expiresAt: iso(o.expiresAt),
        error: o.error,
        certificateId: o.certificateId,
        replaces: o.replaces,
        createdAt: iso(o.createdAt),
        updatedAt: iso(o.updatedAt),
      }));
    },

    async deactivateAccount(id, actor) {
      authorize(actor, 'ca:write');
      const a = await accountFor(id, actor);
      if (a.status !== 'valid') throw new PkiError('input.invalid', `ACME account ${id} is ${a.status}, not valid`);
      await store.commit({
        acme: { updateAccounts: [{ id, patch: { status: 'deactivated', updatedAt: clock.now() } }] },
        audit: [auditEvent(clock, actor, 'acme.account_deactivated', id, { caId: a.caId, by: 'operator' })],
      });
      return { id, status: 'deactivated' as const };
    },
  };
}
