import type { IssuanceService } from './types';
import type { SigningPipeline } from './signing/signing-pipeline';

/** Leaf issuance as the CLI and the first transports know it: thin wrappers over the one signing pipeline. */
export function createIssuanceService(deps: { pipeline: SigningPipeline }): IssuanceService {
  const { pipeline } = deps;
  return {
    issueFromCsr: (input, actor) =>
      pipeline.sign(
        {
          kind: 'leaf-csr',
          ca: input.caId,
          csrPem: input.csrPem,
          profile: input.profile,
          lifetimeMs: input.validityMs,
          sans: input.sans,
          subject: input.subject,
        },
        { actor },
      ),
    issueWithKey: (input, actor) =>
      pipeline.sign(
        {
          kind: 'leaf-generated-key',
          ca: input.caId,
          profile: input.profile,
          subject: input.subject,
          sans: input.sans,
          keyType: input.keyType,
          lifetimeMs: input.validityMs,
          keepKey: input.keepKey,
        },
        { actor },
      ),
  };
}
