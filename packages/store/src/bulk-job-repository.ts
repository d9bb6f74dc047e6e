/**
 * Bulk and batch API jobs (bulk-job-types.ts). Direct writes, no audit: the audit events of a job are written by the
 * services it runs; this is its progress and its results. Every update of a job is conditional on it still running,
 * so an instance that was declared gone (old heartbeat) cannot bring its job back to life.
 */
import { and, eq, gte, isNotNull, lt } from 'drizzle-orm';
import type { BulkJobRepository } from './bulk-job-types';
import { affectedRows, type QueryDb, type Tables } from './query-db';

export function createBulkJobRepository(db: QueryDb, t: Tables): BulkJobRepository {
  const J = t.bulkJobs;
  const F = t.bulkJobFiles;
  return {
    async insert(row) {
      await db.insert(J).values(row);
    },
    async find(id) {
      const [row] = await db.select().from(J).where(eq(J.id, id));
      return row;
    },
    async updateRunning(id, patch) {
      return (
        affectedRows(
          await db
            .update(J)
            .set(patch)
            .where(and(eq(J.id, id), eq(J.state, 'running'))),
        ) > 0
      );
    },
    async putFile(file) {
      await db
        .insert(F)
        .values(file)
        .onConflictDoUpdate({ target: [F.jobId, F.name], set: { ...file } });
    },
    async findFile(jobId, name) {
      const [row] = await db
        .select()
        .from(F)
        .where(and(eq(F.jobId, jobId), eq(F.name, name)));
      return row;
    },
    async countRunning(actorId, aliveSince) {
      const rows = await db
        .select({ id: J.id })
        .from(J)
        .where(and(eq(J.actorId, actorId), eq(J.state, 'running'), gte(J.heartbeatAt, aliveSince)));
      return rows.length;
    },
    async interrupt(o, error, now) {
      const which = 'staleBefore' in o ? lt(J.heartbeatAt, o.staleBefore) : eq(J.instanceId, o.instanceId);
      const result = await db
        .update(J)
        .set({ state: 'failed', errorCode: error.code, errorMessage: error.message, finishedAt: now })
        .where(and(eq(J.state, 'running'), which));
      return affectedRows(result);
    },
    async deleteEndedBefore(before) {
      const ended = and(isNotNull(J.finishedAt), lt(J.finishedAt, before));
      const ids = (await db.select({ id: J.id }).from(J).where(ended)).map((r) => r.id);
      for (const id of ids) await this.delete(id);
      return ids.length;
    },
    async delete(id) {
      await db.delete(F).where(eq(F.jobId, id));
      await db.delete(J).where(eq(J.id, id));
    },
  };
}
