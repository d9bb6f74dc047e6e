export { buildServer, type BuildServerOptions } from './build-server';
export {
  startServer,
  serverOptionsFromEnv,
  parseHttpTimeoutMs,
  parseWorkers,
  parseTrustProxy,
  defaultWorkers,
  type StartServerOptions,
  type RunningServer,
} from './start-server';
export { appRouter, createAppCaller, type AppRouter } from './transports/trpc/app-router';
export { createTrpcContext, type TrpcContext, type AuthMethod } from './transports/trpc/trpc-context';
export { TRPC_CODE_BY_KIND, trpcCodeFor, httpStatusFor } from './error-mapping';
export { startBackgroundJobs, type BackgroundJobs, type BackgroundJobsOptions } from './background-jobs';
export { createServerMetrics, type ServerMetrics } from './server-metrics';
export { SESSION_COOKIE } from './http/auth-plugin';
export { SERVER_VERSION } from './server-version';
export { ACCESS_TABLE, accessFor, checkAccess, type TransportName } from './http/access-table';
