import { initTRPC } from '@trpc/server';
import { PkiError } from '@pkim/shared';
import { ZodError, z } from 'zod';
import type { Permission } from '@pkim/authority';
import { checkAccess } from '../../http/access-table';
import {
  findPkiError,
  pkiCodeForTrpcCode,
  pkiErrorToTrpc,
  trpcCodeFor,
  zodIssueCode,
  zodMessage,
} from '../../error-mapping';
import type { TrpcContext } from './trpc-context';

export interface ProcedureMeta {
  /** the permission the procedure requires; undefined only for public procedures */
  permission?: Permission;
  public?: boolean;
}

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    isDev: false,
    errorFormatter({ shape, error, ctx }) {
      const pki = findPkiError(error);
      const zod = error.cause instanceof ZodError ? error.cause : undefined;
      const internal = error.code === 'INTERNAL_SERVER_ERROR' && (!pki || pki.kind === 'internal');
      // always a catalog code: the PkiError's, else the one for what tRPC itself refused
      const pkiCode =
        pki?.code ?? (zod ? zodIssueCode(zod.issues[0]) : internal ? 'internal.error' : pkiCodeForTrpcCode(error.code));
      const message = internal ? 'internal error' : shape.message;
      const details = pki && !internal && Object.keys(pki.details).length ? pki.details : undefined;
      return {
        ...shape,
        // internal errors never leak their message to clients; the log has it
        message,
        data: {
          /** the contract's error object, the same on every transport (docs/api-contract.md) */
          error: {
            code: pkiCode,
            message: zod ? zodMessage(zod) : message,
            ...(details ? { details } : {}),
          },
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          pkiCode,
          details: pki && !internal ? pki.details : undefined,
          issues: zod
            ? zod.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code }))
            : undefined,
          requestId: ctx?.requestId,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns PkiErrors thrown anywhere below into the matching tRPC code (one place). */
const pkiErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const pki = findPkiError(result.error);
    if (pki && result.error.code !== trpcCodeFor(pki)) throw pkiErrorToTrpc(pki);
  }
  return result;
});

/** the one access check, shared with REST: the procedure's path is looked up in the access table */
const accessCheck = t.middleware(({ ctx, path, next }) => {
  checkAccess('trpc', path, ctx.actor);
  const actor = ctx.actor;
  if (!actor) throw new PkiError('auth.unauthenticated', 'authentication required');
  return next({ ctx: { ...ctx, actor } });
});

/** A procedure open to anyone (its table entry must say `public`). */
export const publicProcedure = t.procedure
  .meta({ public: true })
  .use(pkiErrors)
  .use(({ ctx, path, next }) => {
    checkAccess('trpc', path, ctx.actor);
    return next();
  });

/** A procedure whose permission is declared in http/access-table.ts (checked before the input is parsed). */
export function procedure() {
  return t.procedure.use(pkiErrors).use(accessCheck);
}

export { z };
