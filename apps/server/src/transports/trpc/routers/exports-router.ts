import { certificateExportInputSchema, exportFileSchema, truststoreExportInputSchema } from '@pkim/contract';
import type { ExportFile } from '@pkim/authority';
import { procedure, router } from '../trpc-init';

export const asBase64 = (f: ExportFile) => ({
  fileName: f.fileName,
  mediaType: f.mediaType,
  contentBase64: Buffer.from(f.body).toString('base64'),
  containsPrivateKey: f.containsPrivateKey,
  ...(f.warning ? { warning: f.warning } : {}),
});

/** Certificate exports and CA truststores (mutations: every export is audited, some carry a private key). */
export const exportsRouter = router({
  certificate: procedure()
    .input(certificateExportInputSchema)
    .output(exportFileSchema)
    .mutation(async ({ ctx, input }) => {
      const { ref, ...options } = input;
      return asBase64(await ctx.authority.exports.certificate(ref, options, ctx.actor));
    }),

  truststore: procedure()
    .input(truststoreExportInputSchema)
    .output(exportFileSchema)
    .mutation(async ({ ctx, input }) => {
      const { ca, ...options } = input;
      return asBase64(await ctx.authority.exports.truststore(ca, options, ctx.actor));
    }),
});
