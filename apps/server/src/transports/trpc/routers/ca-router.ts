import {
  caCreateExternalInputSchema,
  caCreateInputSchema,
  caCrlSchema,
  caDeleteInputSchema,
  caDeleteOutputSchema,
  caExportChainOutputSchema,
  caExternalSchema,
  caGetInputSchema,
  caImportCertificateInputSchema,
  caImportExistingInputSchema,
  caListInputSchema,
  caRevokeInputSchema,
  caRevokeOutputSchema,
  caPageSchema,
  caSchema,
  caSetStatusInputSchema,
  caSetUrlsTrpcInputSchema,
  caRenameInputSchema,
  caSetLeafNotAfterInputSchema,
  caRenewInputSchema,
  caRevokeCrossInputSchema,
  caRotateInputSchema,
  caRotateOutputSchema,
  caViewSchema,
  toCaRotateOutputDto,
  toCaCrlDto,
  toCaDto,
  toCaExternalDto,
  toCaViewDto,
  ttlToMs,
} from '@pkim/contract';
import { parseDuration, type LeafNotAfterBehavior } from '@pkim/shared';
import { procedure, router } from '../trpc-init';

const DAY_MS = 86_400_000;

/** `ttl` (wins) or the first version's `validityDays`, in ms */
const validityMsOf = (input: { ttl?: string | number; validityDays?: number }): number | undefined =>
  input.ttl !== undefined
    ? ttlToMs(input.ttl)
    : input.validityDays === undefined
      ? undefined
      : input.validityDays * DAY_MS;

export const caRouter = router({
  /** every CA, or (`expiringWithin`) those ending within the duration, expired ones included, soonest first */
  list: procedure()
    .input(caListInputSchema.optional())
    .output(caPageSchema)
    .query(async ({ ctx, input }) => {
      const within = input?.expiringWithin;
      const rows = await ctx.authority.cas.list(
        within === undefined ? undefined : { expiringWithinMs: parseDuration(within) },
      );
      return { items: rows.map(toCaDto), nextCursor: null };
    }),

  get: procedure()
    .input(caGetInputSchema)
    .output(caViewSchema)
    .query(async ({ ctx, input }) => toCaViewDto(await ctx.authority.cas.get(input.ref, ctx.actor))),

  /**
   * ca-create-endpoint: key in the chosen backend, self-signed (or parent-signed) certificate, row + audit in one
   * transaction
   */
  create: procedure()
    .input(caCreateInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) => {
      const view = await ctx.authority.cas.create(
        {
          name: input.name,
          subject: input.subject,
          keyType: input.keyType, // the contract normalises to the vocabulary (ec-p256…)
          backend: input.backend,
          validityMs: validityMsOf(input),
          parentId: input.parent ?? input.parentId,
          pathLen: input.pathLen,
          nameConstraints: input.nameConstraints,
          kmsCertify: input.kmsCertify,
        },
        ctx.actor,
      );
      return toCaViewDto(view);
    }),

  /** an intermediate signed outside: key in the chosen backend, CSR answered, the CA pending until its import */
  createExternal: procedure()
    .input(caCreateExternalInputSchema)
    .output(caExternalSchema)
    .mutation(async ({ ctx, input }) =>
      toCaExternalDto(
        await ctx.authority.cas.createExternalIntermediate(
          {
            name: input.name,
            subject: input.subject,
            keyType: input.keyType,
            backend: input.backend,
            pathLen: input.pathLen,
            nameConstraints: input.nameConstraints,
            validityMs: validityMsOf(input), // refused by the CA service: the outside CA decides the dates
          },
          ctx.actor,
        ),
      ),
    ),

  /** the outside CA's certificate for a pending CA's key: checked against the key, the CA active */
  importCertificate: procedure()
    .input(caImportCertificateInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) =>
      toCaViewDto(
        await ctx.authority.cas.importCertificate(input.ref, input.certificate, ctx.actor, {
          issuerCertificatePem: input.issuerCertificate,
        }),
      ),
    ),

  /** an existing CA brought with its private key: the key kept by the key backend, the CA active */
  importExisting: procedure()
    .input(caImportExistingInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) =>
      toCaViewDto(
        await ctx.authority.cas.importExisting(
          {
            certificatePem: input.certificate,
            keyPem: input.privateKey,
            keyPassword: input.keyPassword,
            issuerCertificatePem: input.issuerCertificate,
            name: input.name,
            backend: input.backend,
            allowMissingKeyUsage: input.allowMissingKeyUsage,
          },
          ctx.actor,
        ),
      ),
    ),

  setStatus: procedure()
    .input(caSetStatusInputSchema)
    .output(caSchema)
    .mutation(async ({ ctx, input }) => toCaDto(await ctx.authority.cas.setStatus(input.id, input.status, ctx.actor))),

  /** relying-party URLs of the certificates the CA issues from now on, for every process that signs for it */
  setUrls: procedure()
    .input(caSetUrlsTrpcInputSchema)
    .output(caSchema)
    .mutation(async ({ ctx, input }) => {
      const { ref, ...urls } = input;
      return toCaDto(await ctx.authority.cas.setUrls(ref, urls, ctx.actor));
    }),

  /** a new name for the CA (`ca.renamed`); a name taken or not a CA name: refused, nothing changed */
  rename: procedure()
    .input(caRenameInputSchema)
    .output(caSchema)
    .mutation(async ({ ctx, input }) => toCaDto(await ctx.authority.cas.rename(input.ref, input.name, ctx.actor))),

  /** what a leaf asked past the CA's notAfter gets (`ca.leaf_not_after_configured`); a bad value: refused */
  setLeafNotAfterBehavior: procedure()
    .input(caSetLeafNotAfterInputSchema)
    .output(caSchema)
    .mutation(async ({ ctx, input }) =>
      toCaDto(
        await ctx.authority.cas.setLeafNotAfterBehavior(input.ref, input.behavior as LeafNotAfterBehavior, ctx.actor),
      ),
    ),

  revoke: procedure()
    .input(caRevokeInputSchema)
    .output(caRevokeOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.cas.revokeCa(input.id, input.reason, ctx.actor);
      return { ...r, ca: toCaDto(r.ca) };
    }),

  /** a new certificate for the CA's own key (same subject and SKI); the CA's current certificate becomes it */
  renew: procedure()
    .input(caRenewInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) =>
      toCaViewDto(await ctx.authority.cas.renew(input.ref, { validityMs: validityMsOf(input) }, ctx.actor)),
    ),

  /** a rotated root's cross certificate revoked on its own (the old root's CRL and OCSP); the successor stays */
  revokeCross: procedure()
    .input(caRevokeCrossInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) =>
      toCaViewDto(await ctx.authority.cas.revokeCross(input.ref, input.reason, ctx.actor)),
    ),

  /** a successor CA with a new key (a root's with a cross certificate from the old root); the old one stays */
  rotate: procedure()
    .input(caRotateInputSchema)
    .output(caRotateOutputSchema)
    .mutation(async ({ ctx, input }) =>
      toCaRotateOutputDto(
        await ctx.authority.cas.rotate(
          input.ref,
          {
            name: input.name,
            subject: input.subject,
            keyType: input.keyType,
            backend: input.backend,
            validityMs: validityMsOf(input),
            disableOld: input.disableOld,
          },
          ctx.actor,
        ),
      ),
    ),

  delete: procedure()
    .input(caDeleteInputSchema)
    .output(caDeleteOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const { keyDestroyed, keyInUseBy } = await ctx.authority.cas.delete(
        input.id,
        { destroyKey: input.destroyKey },
        ctx.actor,
      );
      return { ok: true as const, keyDestroyed, ...(keyInUseBy && { keyInUseBy }) };
    }),

  /** signs a fresh CRL now (bumps the CRL number; `pkim crl generate`) */
  generateCrl: procedure()
    .input(caGetInputSchema)
    .output(caCrlSchema)
    .mutation(async ({ ctx, input }) => {
      const caId = (await ctx.authority.cas.get(input.ref, ctx.actor)).ca.id;
      return toCaCrlDto(caId, await ctx.authority.crl.generate(caId, ctx.actor));
    }),

  exportChain: procedure()
    .input(caGetInputSchema)
    .output(caExportChainOutputSchema)
    .query(async ({ ctx, input }) => {
      const v = await ctx.authority.cas.get(input.ref, ctx.actor);
      return { id: v.ca.id, chainPem: v.chainPem };
    }),
});
