import { healthSchema, systemInfoSchema, systemStatsSchema } from '@pkim/shared';
import { procedure, router } from '../trpc-init';
import { SERVER_VERSION } from '../../server-version';

const DAY_MS = 86_400_000;

export const systemRouter = router({
  health: procedure('system:read')
    .output(healthSchema)
    .query(({ ctx }) => ctx.authority.health()),

  info: procedure('system:read')
    .output(systemInfoSchema)
    .query(({ ctx }) => ({
      name: 'pkim' as const,
      version: SERVER_VERSION,
      publicBaseUrl: ctx.publicBaseUrl ?? ctx.authority.config.publicBaseUrl ?? null,
      databaseDialect: ctx.authority.store.dialect,
      time: ctx.authority.clock.now(),
    })),

  /** dashboard numbers */
  stats: procedure('system:read')
    .output(systemStatsSchema)
    .query(async ({ ctx }) => {
      const { store, clock } = ctx.authority;
      const now = clock.now();
      const [cas, byStatus, within7d, within30d, pending] = await Promise.all([
        store.cas.list(),
        store.certificates.countByStatus(),
        store.certificates.countExpiringBefore(now + 7 * DAY_MS),
        store.certificates.countExpiringBefore(now + 30 * DAY_MS),
        store.requests.list({ status: 'pending', limit: 1000 }),
      ]);
      return {
        cas: { total: cas.length, active: cas.filter((c) => c.status === 'active').length },
        certificates: { active: byStatus.active ?? 0, revoked: byStatus.revoked ?? 0, expired: byStatus.expired ?? 0 },
        expiring: { within7d, within30d },
        pendingRequests: pending.items.length,
      };
    }),
});
