// The zod schema of custom profiles (profile-catalog.ts loads this module on first use). zod is imported statically
// here, not handed over as the `z` namespace from a dynamic import('zod'): a namespace used as a value makes the
// bundle keep every export of zod (its 64 locales included: a 653 KB chunk, ≈ 95 ms of CPU in each CLI command that
// loads zod, such as every --json one; docs/benchmarks-record.md "Session 16: CLI start-up").
import { z } from 'zod';
import { KEY_TYPES, MAX_PATH_LEN, PATH_LEN_MESSAGE } from '@pkim/shared';
import type { KeyUsageName } from './types';
import { KEY_USAGE_BITS } from './extensions/key-usage';
import { OPTIONAL_EXTENSION_NAMES } from './extensions/extension-registry';
import { profileOidProblems } from './profile-oids';

export function buildProfileSchema() {
  // the bit order of the keyUsage extension is the list of names
  const keyUsageName = z.enum(KEY_USAGE_BITS as [KeyUsageName, ...KeyUsageName[]]);
  const extKeyUsageName = z.enum([
    'serverAuth',
    'clientAuth',
    'codeSigning',
    'emailProtection',
    'timeStamping',
    'OCSPSigning',
  ]);
  const sanType = z.enum(['dns', 'ip', 'uri', 'email']);
  return z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
      description: z.string().max(500).optional(),
      isCa: z.boolean(),
      pathLen: z
        .number(PATH_LEN_MESSAGE)
        .int(PATH_LEN_MESSAGE)
        .min(0, PATH_LEN_MESSAGE)
        .max(MAX_PATH_LEN, PATH_LEN_MESSAGE)
        .nullable()
        .optional(),
      keyUsage: z.array(keyUsageName).min(1),
      extKeyUsage: z.array(extKeyUsageName),
      extKeyUsageOids: z.array(z.string()).optional(),
      certificatePolicies: z
        .array(z.object({ oid: z.string(), cps: z.string().optional(), notice: z.string().optional() }).strict())
        .optional(),
      allowedSanTypes: z.array(sanType),
      sanRequired: z.boolean(),
      allowedKeyTypes: z.array(z.enum(KEY_TYPES)).min(1),
      defaultLifetimeMs: z.number().int().positive(),
      maxLifetimeMs: z.number().int().positive(),
      ocspNoCheck: z.boolean().optional(),
      extensions: z
        .array(
          z.string().refine((n) => OPTIONAL_EXTENSION_NAMES.includes(n), {
            error: `unknown optional extension (known: ${OPTIONAL_EXTENSION_NAMES.join(', ')})`,
          }),
        )
        .optional(),
      rsaKeyUsage: z.array(keyUsageName).optional(),
      requiredSanTypes: z.array(sanType).optional(),
      allowedUriSchemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).optional(),
      maxUriSans: z.number().int().min(0).optional(),
      maxSans: z.number().int().min(1).max(10_000).optional(),
      maxSanBytes: z
        .number()
        .int()
        .min(1)
        .max(1024 * 1024)
        .optional(),
      allowKeyReuse: z.boolean().optional(),
    })
    .strict()
    .refine((p) => p.defaultLifetimeMs <= p.maxLifetimeMs, {
      error: 'defaultLifetimeMs must not exceed maxLifetimeMs',
      path: ['defaultLifetimeMs'],
    })
    .refine((p) => !p.isCa || p.keyUsage.includes('keyCertSign'), {
      error: 'a CA profile needs keyCertSign',
      path: ['keyUsage'],
    })
    .refine((p) => p.isCa || !p.keyUsage.includes('keyCertSign'), {
      error: 'keyCertSign requires isCa',
      path: ['keyUsage'],
    })
    .refine((p) => (p.requiredSanTypes ?? []).every((t) => p.allowedSanTypes.includes(t)), {
      error: 'requiredSanTypes must be allowed',
      path: ['requiredSanTypes'],
    })
    .superRefine((p, ctx) => {
      // the linter's rules (lint.policy_invalid), refused when the profile is read
      for (const message of profileOidProblems(p)) ctx.addIssue({ code: 'custom', message });
    });
}
