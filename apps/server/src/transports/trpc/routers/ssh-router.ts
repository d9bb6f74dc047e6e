import { z } from 'zod';
import { parseDuration } from '@pkim/shared';
import { sshCaKeyTypeSchema } from '@pkim/contract';
import type { SshCaView, SshCertificateRow, SshFleetTokenRow } from '@pkim/authority';
import { procedure, router } from '../trpc-init';

/**
 * The SSH CA for the console and API clients (docs/ssh.md): CAs, certificates (issue, revoke), KRL status, fleet
 * tokens. Permissions (`ssh:read|issue|revoke|manage`) are declared in http/access-table.ts; CA limits of the
 * caller (token resources) are the authority's. Times are RFC 3339 here (epoch ms inside).
 */
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const nameSchema = z.string().trim().min(1).max(64);
const durationText = z
  .string()
  .trim()
  .max(32)
  .regex(/^\d+\s*[smhdwy]?$/i, 'expected a duration such as 8h, 30d')
  .transform((v) => parseDuration(/^\d+$/.test(v) ? `${v}s` : v));
const optionsSchema = z.record(z.string().min(1).max(64), z.union([z.string().max(1024), z.literal(true)])).optional();

function caView(v: SshCaView) {
  const c = v.ca;
  return {
    id: c.id,
    name: c.name,
    environment: v.environment,
    type: c.certType,
    keyType: c.keyType,
    backend: c.keyBackend,
    status: c.status,
    publicKey: v.publicKey,
    fingerprint: c.fingerprint,
    maxTtlSeconds: c.maxTtlMs / 1000,
    defaultTtlSeconds: c.defaultTtlMs / 1000,
    createdAt: iso(c.createdAt)!,
    retiredAt: iso(c.retiredAt),
  };
}

function certificateView(c: SshCertificateRow, caName?: string) {
  return {
    id: c.id,
    caId: c.caId,
    ca: caName ?? c.caId,
    serial: c.serial,
    keyId: c.keyId,
    type: c.certType,
    principals: c.principals,
    keyFingerprint: c.keyFingerprint,
    validAfter: iso(c.validAfter)!,
    validBefore: iso(c.validBefore)!,
    criticalOptions: c.criticalOptions,
    extensions: c.extensions,
    status: c.status,
    revokedAt: iso(c.revokedAt),
    revocationReason: c.revocationReason,
    provisioner: c.provisioner,
    issuedBy: c.issuedBy,
    createdAt: iso(c.createdAt)!,
    certificate: c.certificate,
  };
}

/** never the hash of the secret */
function fleetTokenView(t: SshFleetTokenRow, environment: string) {
  return {
    id: t.id,
    name: t.name,
    environment,
    operations: t.operations,
    ratePerMinute: t.ratePerMinute,
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt)!,
  };
}

export const sshRouter = router({
  listCas: procedure()
    .input(z.object({ environment: nameSchema.optional() }).strict().optional())
    .query(async ({ ctx, input }) => (await ctx.authority.ssh.listCas(input?.environment)).map(caView)),

  createCa: procedure()
    .input(
      z
        .object({
          name: nameSchema,
          type: z.enum(['user', 'host']),
          keyType: sshCaKeyTypeSchema.optional(),
          environment: nameSchema.optional(),
          maxTtl: durationText.optional(),
          defaultTtl: durationText.optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) =>
      caView(
        await ctx.authority.ssh.createCa(
          {
            name: input.name,
            type: input.type,
            keyType: input.keyType,
            environment: input.environment,
            maxTtlMs: input.maxTtl,
            defaultTtlMs: input.defaultTtl,
          },
          ctx.actor,
        ),
      ),
    ),

  listCertificates: procedure()
    .input(
      z
        .object({
          ca: nameSchema.optional(),
          status: z.enum(['active', 'revoked', 'expired']).optional(),
          limit: z.number().int().min(1).max(500).optional(),
          cursor: z.string().max(512).nullish(),
        })
        .strict()
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const page = await ctx.authority.ssh.listCertificates({ ...input, limit: input?.limit ?? 100 });
      const names = new Map((await ctx.authority.ssh.listCas()).map((v) => [v.ca.id, v.ca.name]));
      return { items: page.items.map((c) => certificateView(c, names.get(c.caId))), nextCursor: page.nextCursor };
    }),

  /** signs a user or host certificate for a submitted public key (the SSH signing pipeline, audited) */
  issue: procedure()
    .input(
      z
        .object({
          ca: nameSchema,
          publicKey: z.string().trim().min(1).max(16_384),
          type: z.enum(['user', 'host']).default('user'),
          principals: z.array(z.string().trim().min(1).max(255)).max(256).optional(),
          ttl: durationText.optional(),
          keyId: z.string().trim().min(1).max(255).optional(),
          user: nameSchema.optional(),
          host: z.string().trim().min(1).max(253).optional(),
          criticalOptions: optionsSchema,
          extensions: optionsSchema,
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const issued = await ctx.authority.ssh.sign({ ...input, ttlMs: input.ttl }, ctx.actor);
      return { ...certificateView(issued.certificate, input.ca), line: issued.line };
    }),

  /** by serial, or every unexpired certificate of a key id or public key; the CA's KRL version moves on */
  revoke: procedure()
    .input(
      z
        .object({
          ca: nameSchema,
          serial: z.string().trim().min(1).max(32).optional(),
          keyId: z.string().trim().min(1).max(255).optional(),
          publicKey: z.string().trim().min(1).max(16_384).optional(),
          reason: z.string().trim().max(500).optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.ssh.revoke(input, ctx.actor);
      return { revoked: r.revoked.map((c) => c.serial), krlVersion: r.krlVersion };
    }),

  /** per CA: the KRL version, its ETag and generation time, how many unexpired revoked certificates it lists */
  krlStatus: procedure()
    .input(z.object({ ca: nameSchema.optional() }).strict().optional())
    .query(async ({ ctx, input }) => {
      const cas = input?.ca ? [await ctx.authority.ssh.getCa(input.ca)] : await ctx.authority.ssh.listCas();
      const now = ctx.authority.clock.now();
      return Promise.all(
        cas.map(async (v) => {
          const krl = await ctx.authority.ssh.caKrl(v.ca.id);
          const revoked = await ctx.authority.ssh.listCertificates({ ca: v.ca.id, status: 'revoked', limit: 1000 });
          return {
            caId: v.ca.id,
            ca: v.ca.name,
            environment: v.environment,
            type: v.ca.certType,
            version: krl.version,
            etag: krl.etag,
            generatedAt: iso(krl.generatedAt)!,
            bytes: krl.krl.length,
            revokedCount: revoked.items.filter((c) => c.validBefore > now).length,
            url: `/ssh/krl/ca/${encodeURIComponent(v.ca.name)}`,
          };
        }),
      );
    }),

  fleetTokens: procedure().query(async ({ ctx }) => {
    const envs = new Map((await ctx.authority.ssh.listEnvironments()).map((e) => [e.id, e.name]));
    return (await ctx.authority.ssh.listFleetTokens()).map((t) =>
      fleetTokenView(t, envs.get(t.environmentId) ?? t.environmentId),
    );
  }),

  /** the secret (`pkimf_…`) is in this response only */
  createFleetToken: procedure()
    .input(
      z
        .object({
          name: nameSchema,
          environment: nameSchema.optional(),
          operations: z
            .array(z.enum(['sign-host', 'sign-user']))
            .min(1)
            .max(2),
          ratePerMinute: z.number().int().min(1).max(100_000).optional(),
          expiresIn: durationText.optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.ssh.createFleetToken(
        {
          name: input.name,
          environment: input.environment,
          operations: input.operations,
          ratePerMinute: input.ratePerMinute,
          expiresInMs: input.expiresIn,
        },
        ctx.actor,
      );
      return { token: r.token, ...fleetTokenView(r.row, input.environment ?? 'default') };
    }),

  revokeFleetToken: procedure()
    .input(z.object({ id: z.string().trim().min(1).max(64) }).strict())
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.revokeFleetToken(input.id, ctx.actor);
      return { ok: true as const };
    }),
});
