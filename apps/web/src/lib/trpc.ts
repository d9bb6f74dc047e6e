import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@pkim/server';
import { getCsrfToken } from './session';

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (failures, error) => failures < 2 && !isClientError(error),
    },
  },
});

/** One request per call (no batching): queries stay cacheable and failures stay separate. */
export const trpcClient = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: '/trpc',
      headers() {
        const csrf = getCsrfToken();
        return csrf ? { 'x-csrf-token': csrf } : {};
      },
      fetch: (url, init) => fetch(url, { ...init, credentials: 'same-origin' }),
    }),
  ],
});

export const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });

export interface ApiErrorInfo {
  /** the stable PKI Manager error code (`ca.not_found`, `auth.forbidden`, …) */
  code: string;
  message: string;
  httpStatus?: number;
  requestId?: string;
  issues?: { path: string; message: string }[];
  /** the error's details (e.g. `reason`, which part of the input a refusal is about) */
  details?: Record<string, unknown>;
}

export function apiError(error: unknown): ApiErrorInfo {
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as {
      pkiCode?: string;
      code?: string;
      httpStatus?: number;
      requestId?: string;
      issues?: { path: string; message: string }[];
      details?: Record<string, unknown>;
    };
    return {
      code: data.pkiCode ?? data.code ?? 'network.error',
      message: error.message,
      httpStatus: data.httpStatus,
      requestId: data.requestId,
      issues: data.issues,
      details: data.details,
    };
  }
  return { code: 'client.error', message: error instanceof Error ? error.message : String(error) };
}

function isClientError(error: unknown): boolean {
  const s = apiError(error).httpStatus;
  return s !== undefined && s >= 400 && s < 500;
}

export function isUnauthenticated(error: unknown): boolean {
  const e = apiError(error);
  return e.code === 'auth.unauthenticated' || e.httpStatus === 401;
}
