import { healthSchema, isoTime, systemInfoSchema, systemStatsSchema } from '@pkim/contract';
import { procedure, router } from '../trpc-init';
import { SERVER_VERSION } from '../../../server-version';

export const systemRouter = router({
  health: procedure()
    .output(healthSchema)
    .query(({ ctx }) => ctx.authority.health()),

  info: procedure()
    .output(systemInfoSchema)
    .query(({ ctx }) => ({
      name: 'pkim' as const,
      version: SERVER_VERSION,
      publicBaseUrl: ctx.publicBaseUrl ?? ctx.authority.config.publicBaseUrl ?? null,
      databaseDialect: ctx.authority.describe().databaseDialect,
      time: isoTime(ctx.authority.clock.now()),
    })),

  /** dashboard numbers */
  stats: procedure()
    .output(systemStatsSchema)
    .query(({ ctx }) => ctx.authority.statistics.dashboard()),
});
