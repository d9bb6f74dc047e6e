import { newId, type Clock } from '@pkim/shared';
import type { NewAuditEvent, Store } from '@pkim/store';
import type { Actor, AuditService } from './types';

export function actorId(actor: Actor | string): string {
  return typeof actor === 'string' ? actor : actor.id;
}

/** Builds an audit event for a unit of work (the store assigns seq and hashes inside the transaction). */
export function auditEvent(
  clock: Clock,
  actor: Actor | string,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
  outcome: 'success' | 'failure' = 'success',
): NewAuditEvent {
  return { id: newId('evt'), time: clock.now(), actor: actorId(actor), action, target, outcome, details };
}

export function createAuditService(deps: { store: Store; clock: Clock }): AuditService {
  const { store, clock } = deps;
  return {
    list: (query) => store.audit.list(query),
    verify: () => store.audit.verify(),
    record: (e) =>
      store.audit.append(
        auditEvent(clock, e.actor, e.action, e.target ?? null, e.details ?? {}, e.outcome ?? 'success'),
      ),
  };
}
