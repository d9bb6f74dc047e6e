import { z } from 'zod';
import { rfc3339Schema } from './common-schemas';

export const healthSchema = z.object({
  ok: z.boolean(),
  database: z.boolean(),
  keyBackends: z.array(z.object({ backend: z.string(), ok: z.boolean(), detail: z.string().optional() })),
});
export const systemInfoSchema = z.object({
  name: z.literal('pkim'),
  version: z.string(),
  publicBaseUrl: z.string().nullable(),
  databaseDialect: z.string(),
  time: rfc3339Schema,
});
export const systemStatsSchema = z.object({
  cas: z.object({ total: z.number().int(), active: z.number().int() }),
  certificates: z.object({ active: z.number().int(), revoked: z.number().int(), expired: z.number().int() }),
  expiring: z.object({ within7d: z.number().int(), within30d: z.number().int() }),
  pendingRequests: z.number().int(),
});
