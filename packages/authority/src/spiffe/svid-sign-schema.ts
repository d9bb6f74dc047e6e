// The zod schema of the SVID sign body (spiffe-service.ts loads this module on first use). zod is imported
// statically, not handed over as the `z` namespace of a dynamic import('zod'): that kept all of zod in the bundle
// (packages/core/src/profile-schema.ts says why).
import { z } from 'zod';

export function buildSvidSignInputSchema() {
  return z
    .object({
      csrPem: z
        .string()
        .min(1)
        .max(64 * 1024),
      serviceType: z.string().min(1).max(64),
      instanceId: z.string().min(1).max(256),
      ttlSeconds: z.number().int().positive().optional(),
    })
    .strict();
}
