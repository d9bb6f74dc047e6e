import type { Actor, Authority } from '@pkim/authority';

import type { AuthMethod } from '../../http/auth-plugin';

export type { AuthMethod };

/** Per-request context of every tRPC procedure (built by the Fastify adapter or by tests). */
export interface TrpcContext {
  authority: Authority;
  actor?: Actor;
  authMethod?: AuthMethod;
  /** the raw session cookie value (for logout) */
  sessionToken?: string;
  requestId: string;
  ip?: string;
  publicBaseUrl?: string;
  /** the origin the client reached the server at (http/request-origin.ts); absent for direct callers */
  origin?: string;
  /** set/clear the session cookie (HTTP only; absent for direct callers) */
  setSessionCookie?(token: string, expiresAt: number): void;
  clearSessionCookie?(): void;
}

/** Context for `appRouter.createCaller(ctx)` outside HTTP (tests, in-process callers). */
export function createTrpcContext(input: {
  authority: Authority;
  actor?: Actor;
  authMethod?: AuthMethod;
  requestId?: string;
  ip?: string;
  publicBaseUrl?: string;
  origin?: string;
}): TrpcContext {
  return {
    authority: input.authority,
    actor: input.actor,
    authMethod: input.actor ? (input.authMethod ?? 'local') : undefined,
    requestId: input.requestId ?? 'local',
    ip: input.ip,
    publicBaseUrl: input.publicBaseUrl,
    origin: input.origin,
  };
}
