import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError, z } from 'zod';
import { authorize, type Permission } from '@pkim/authority';
import { findPkiError, pkiErrorToTrpc, trpcCodeFor } from '../error-mapping';
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
      return {
        ...shape,
        // internal errors never leak their message to clients; the log has it
        message: internal ? 'internal error' : shape.message,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          pkiCode: pki?.code ?? (zod ? 'input.invalid' : internal ? 'internal.error' : undefined),
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

/** the one permission check: every non-public procedure declares its permission in meta */
const permissionCheck = t.middleware(({ ctx, meta, next }) => {
  if (!meta?.permission)
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'procedure without permission' });
  authorize(ctx.actor, meta.permission);
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});

export const publicProcedure = t.procedure.meta({ public: true }).use(pkiErrors);

/** A procedure that requires `permission` (checked before the input is parsed). */
export function procedure(permission: Permission) {
  return t.procedure.meta({ permission }).use(pkiErrors).use(permissionCheck);
}

export { z };
