/**
 * The SSH part of `Store.commit` (see unit-of-work.ts): inserts and guarded updates of the SSH tables and
 * the KRL version bumps, as SQL steps run in the same transaction as the rest of the unit and its audit events.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { PkiError } from '@pkim/shared';
import type { SshUnitOfWork } from './ssh-types';
import type { QueryDb, Tables } from './query-db';
import type { SqlStep } from './unit-of-work';

type StepGen<T> = Generator<SqlStep, T, unknown>;

function* exec(q: unknown): StepGen<number> {
  return (yield { mode: 'exec', q }) as number;
}
function* rows<T>(q: unknown): StepGen<T[]> {
  return (yield { mode: 'rows', q }) as T[];
}

export function* sshUnitOfWorkSteps(db: QueryDb, t: Tables, u: SshUnitOfWork): StepGen<Record<string, number>> {
  if (u.insertEnvironments?.length) yield* exec(db.insert(t.sshEnvironments).values(u.insertEnvironments));
  if (u.insertCas?.length) yield* exec(db.insert(t.sshCas).values(u.insertCas));
  for (const x of u.updateCas ?? []) {
    const n = yield* exec(db.update(t.sshCas).set(x.patch).where(eq(t.sshCas.id, x.id)));
    if (n === 0) throw new PkiError('ssh.ca_not_found', `SSH CA ${x.id} does not exist`, { details: { id: x.id } });
  }
  if (u.insertUsers?.length) yield* exec(db.insert(t.sshUsers).values(u.insertUsers));
  for (const x of u.updateUsers ?? []) yield* exec(db.update(t.sshUsers).set(x.patch).where(eq(t.sshUsers.id, x.id)));
  if (u.insertHosts?.length) yield* exec(db.insert(t.sshHosts).values(u.insertHosts));
  for (const x of u.updateHosts ?? []) yield* exec(db.update(t.sshHosts).set(x.patch).where(eq(t.sshHosts.id, x.id)));
  if (u.insertPrincipals?.length) yield* exec(db.insert(t.sshPrincipals).values(u.insertPrincipals));
  for (const g of u.deleteGrants ?? []) {
    const G = t.sshPrincipalGrants;
    yield* exec(db.delete(G).where(and(eq(G.userId, g.userId), eq(G.principal, g.principal))));
  }
  if (u.insertGrants?.length) yield* exec(db.insert(t.sshPrincipalGrants).values(u.insertGrants));
  for (const a of u.deleteHostAccounts ?? []) {
    const H = t.sshHostAccounts;
    yield* exec(
      db.delete(H).where(and(eq(H.hostId, a.hostId), eq(H.account, a.account), eq(H.principal, a.principal))),
    );
  }
  if (u.insertHostAccounts?.length) yield* exec(db.insert(t.sshHostAccounts).values(u.insertHostAccounts));
  if (u.deleteBlocks?.length) yield* exec(db.delete(t.sshBlocks).where(inArray(t.sshBlocks.id, u.deleteBlocks)));
  if (u.insertBlocks?.length) yield* exec(db.insert(t.sshBlocks).values(u.insertBlocks));
  if (u.insertFleetTokens?.length) yield* exec(db.insert(t.sshFleetTokens).values(u.insertFleetTokens));
  for (const x of u.updateFleetTokens ?? []) {
    yield* exec(db.update(t.sshFleetTokens).set(x.patch).where(eq(t.sshFleetTokens.id, x.id)));
  }
  if (u.insertCertificates?.length) yield* exec(db.insert(t.sshCertificates).values(u.insertCertificates));
  const C = t.sshCertificates;
  for (const x of u.updateCertificates ?? []) {
    const where = x.onlyIfStatus ? and(eq(C.id, x.id), eq(C.status, x.onlyIfStatus)) : eq(C.id, x.id);
    const n = yield* exec(db.update(C).set(x.patch).where(where));
    if (n === 0) {
      const [cur] = yield* rows<{ status: string }>(db.select({ status: C.status }).from(C).where(eq(C.id, x.id)));
      if (!cur) throw new PkiError('ssh.certificate_not_found', `SSH certificate ${x.id} does not exist`);
      throw new PkiError('ssh.certificate_already_revoked', `SSH certificate ${x.id} is ${cur.status}`, {
        details: { id: x.id, status: cur.status },
      });
    }
  }
  const versions: Record<string, number> = {};
  const K = t.sshKrlVersions;
  for (const scope of [...new Set(u.bumpKrlVersions?.scopes ?? [])].sort()) {
    const at = u.bumpKrlVersions!.at;
    const [row] = yield* rows<{ version: number }>(
      db
        .insert(K)
        .values({ scope, version: 1, updatedAt: at })
        .onConflictDoUpdate({ target: K.scope, set: { version: sql`${K.version} + 1`, updatedAt: at } })
        .returning({ version: K.version }),
    );
    versions[scope] = Number(row!.version);
  }
  return versions;
}
