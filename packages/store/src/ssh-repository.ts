/** Reads of the SSH certificate authority tables, over the dialect-neutral Drizzle view (both engines). */
import { and, asc, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type {
  SshBlockRow,
  SshCaRow,
  SshCertificateRow,
  SshEnvironmentRow,
  SshFleetTokenRow,
  SshHostRow,
  SshKrlVersionRow,
  SshPrincipalRow,
  SshRepository,
  SshUserRow,
} from './ssh-types';
import type { QueryDb, Tables } from './query-db';
import { decodeCursor, encodeCursor, pageSize } from './pagination-cursor';

export function createSshRepository(db: QueryDb, t: Tables): SshRepository {
  const E = t.sshEnvironments;
  const CA = t.sshCas;
  const C = t.sshCertificates;
  const H = t.sshHosts;
  const U = t.sshUsers;
  const P = t.sshPrincipals;
  const G = t.sshPrincipalGrants;
  const HA = t.sshHostAccounts;
  const B = t.sshBlocks;
  const K = t.sshKrlVersions;
  const F = t.sshFleetTokens;
  const one = async <T>(q: Promise<unknown[]>): Promise<T | undefined> => (await q)[0] as T | undefined;
  return {
    environmentById: (id) => one<SshEnvironmentRow>(db.select().from(E).where(eq(E.id, id))),
    environmentByName: (name) => one<SshEnvironmentRow>(db.select().from(E).where(eq(E.name, name))),
    listEnvironments: async () => await db.select().from(E).orderBy(asc(E.name)),
    caById: (id) => one<SshCaRow>(db.select().from(CA).where(eq(CA.id, id))),
    caByName: (name) => one<SshCaRow>(db.select().from(CA).where(eq(CA.name, name))),
    listCas: async (environmentId) =>
      await db
        .select()
        .from(CA)
        .where(environmentId ? eq(CA.environmentId, environmentId) : undefined)
        .orderBy(asc(CA.createdAt), asc(CA.id)),
    certificateById: (id) => one<SshCertificateRow>(db.select().from(C).where(eq(C.id, id))),
    certificateBySerial: (caId, serial) =>
      one<SshCertificateRow>(
        db
          .select()
          .from(C)
          .where(and(eq(C.caId, caId), eq(C.serial, serial))),
      ),
    certificateByIdempotencyKey: (fleetTokenId, key) =>
      one<SshCertificateRow>(
        db
          .select()
          .from(C)
          .where(and(eq(C.fleetTokenId, fleetTokenId), eq(C.idempotencyKey, key))),
      ),
    async listCertificates(q) {
      const limit = pageSize(q.limit);
      const c = q.cursor ? decodeCursor(q.cursor) : undefined;
      const items = (await db
        .select()
        .from(C)
        .where(
          and(
            q.caId ? eq(C.caId, q.caId) : undefined,
            q.status ? eq(C.status, q.status) : undefined,
            c ? sql`(${C.createdAt}, ${C.id}) < (${c.createdAt}, ${c.id})` : undefined,
          ),
        )
        .orderBy(desc(C.createdAt), desc(C.id))
        .limit(limit + 1)) as SshCertificateRow[];
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      const last = page[page.length - 1];
      return { items: page, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
    },
    listRevokedCertificates: async (caId, now) =>
      await db
        .select()
        .from(C)
        .where(and(eq(C.caId, caId), eq(C.status, 'revoked'), gt(C.validBefore, now)))
        .orderBy(asc(C.createdAt), asc(C.id)),
    async countUnexpired(caId, now) {
      const [r] = await db
        .select({ n: count() })
        .from(C)
        .where(and(eq(C.caId, caId), eq(C.status, 'active'), gt(C.validBefore, now)));
      return Number(r?.n ?? 0);
    },
    async countFleetIssuedSince(fleetTokenId, since) {
      const [r] = await db
        .select({ n: count() })
        .from(C)
        .where(and(eq(C.fleetTokenId, fleetTokenId), gt(C.createdAt, since)));
      return Number(r?.n ?? 0);
    },
    hostById: (id) => one<SshHostRow>(db.select().from(H).where(eq(H.id, id))),
    hostByName: (environmentId, name) =>
      one<SshHostRow>(
        db
          .select()
          .from(H)
          .where(and(eq(H.environmentId, environmentId), eq(H.name, name))),
      ),
    listHosts: async (environmentId) =>
      await db
        .select()
        .from(H)
        .where(environmentId ? eq(H.environmentId, environmentId) : undefined)
        .orderBy(asc(H.name)),
    userById: (id) => one<SshUserRow>(db.select().from(U).where(eq(U.id, id))),
    userByName: (name) => one<SshUserRow>(db.select().from(U).where(eq(U.name, name))),
    listUsers: async () => await db.select().from(U).orderBy(asc(U.name)),
    principal: (name) => one<SshPrincipalRow>(db.select().from(P).where(eq(P.name, name))),
    listPrincipals: async () => await db.select().from(P).orderBy(asc(P.name)),
    grantsOfUser: async (userId) =>
      (await db.select({ p: G.principal }).from(G).where(eq(G.userId, userId)).orderBy(asc(G.principal))).map(
        (r) => r.p,
      ),
    hostAccounts: async (hostId) =>
      await db.select().from(HA).where(eq(HA.hostId, hostId)).orderBy(asc(HA.account), asc(HA.principal)),
    blocksOfUser: async (userId) => await db.select().from(B).where(eq(B.userId, userId)).orderBy(asc(B.createdAt)),
    blocksForHost: async (hostId) =>
      await db
        .select()
        .from(B)
        .where(or(eq(B.hostId, hostId), isNull(B.hostId)))
        .orderBy(asc(B.createdAt)),
    listBlocks: async () => await db.select().from(B).orderBy(asc(B.createdAt), asc(B.id)),
    blockById: (id) => one<SshBlockRow>(db.select().from(B).where(eq(B.id, id))),
    krlVersion: (scope) => one<SshKrlVersionRow>(db.select().from(K).where(eq(K.scope, scope))),
    fleetTokenByHash: (h) => one<SshFleetTokenRow>(db.select().from(F).where(eq(F.tokenHash, h))),
    fleetTokenById: (id) => one<SshFleetTokenRow>(db.select().from(F).where(eq(F.id, id))),
    listFleetTokens: async () => await db.select().from(F).orderBy(asc(F.createdAt), asc(F.id)),
  };
}
