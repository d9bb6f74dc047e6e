import { PkiError, type Clock } from '@pkim/shared';
import type { AcmeAccountRow, AcmeIdentifierJson, AcmeProblemJson, Store } from '@pkim/store';
import type { Actor } from '../types';
import { authorize } from '../permissions';
import { findCaByRef } from '../ca-context';
import { auditEvent } from '../audit-service';
import { checkActorMayUseCa } from '../signing/provisioner-policy';

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

/**
 * Administration of ACME directories beside the protocol: orders and operator deactivation (console, CLI). EAB keys
 * and accounts are listed by the ACME service itself (`acme.listEabKeys`, `acme.revokeEabKey`, `acme.listAccounts`).
 */
export interface AcmeAdminService {
  /**
   * newest first; the orders of one account, or of every account of a directory. `cursor`: the `nextCursor` of the
   * previous page (`<createdAt ms>:<order id>`, null when the page was not full).
   */
  listOrders(
    query: { ca?: string; account?: string; limit?: number; cursor?: string | null },
    actor: Actor,
  ): Promise<{ items: AcmeOrderView[]; nextCursor: string | null }>;
  /** an operator's deactivation (as if the account had asked): audited `acme.account_deactivated` */
  deactivateAccount(accountId: string, actor: Actor): Promise<{ id: string; status: 'deactivated' }>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
const MAX_ORDERS = 500;

function orderCursor(cursor: string | null | undefined): { createdAt: number; id: string } | undefined {
  if (!cursor) return undefined;
  const m = /^(\d{1,15}):([\w-]{1,64})$/.exec(cursor);
  if (!m) throw new PkiError('input.invalid', `not an ACME order cursor: '${cursor}'`);
  return { createdAt: Number(m[1]), id: m[2]! };
}

export function createAcmeAdminService(deps: { store: Store; clock: Clock }): AcmeAdminService {
  const { store, clock } = deps;

  /** the CA of an id or name; the not-found hint only to an actor that may list it (findCaByRef) */
  function caOf(ref: string, actor?: Actor) {
    return findCaByRef(store, ref, actor);
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
    async listOrders(query, actor) {
      authorize(actor, 'ca:read');
      const limit = Math.max(1, Math.min(query.limit ?? 100, MAX_ORDERS));
      let accounts: AcmeAccountRow[];
      if (query.account) accounts = [await accountFor(query.account, actor)];
      else {
        const ca = query.ca === undefined ? undefined : await caOf(query.ca, actor);
        checkActorMayUseCa(actor, ca);
        accounts = [];
        for (const a of await store.acme.listAccounts(ca?.id)) if (await mayUse(actor, a.caId)) accounts.push(a);
      }
      const before = orderCursor(query.cursor);
      const rows = (await Promise.all(accounts.map((a) => store.acme.listOrders(a.id, limit + 1, before)))).flat();
      // the same order as the store's keyset (creation time, then id, both descending)
      rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > limit && last ? `${last.createdAt}:${last.id}` : null;
      const items = page.map((o) => ({
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
      return { items, nextCursor };
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
