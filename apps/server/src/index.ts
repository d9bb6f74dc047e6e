export { buildServer, type BuildServerOptions } from './build-server';
export { startServer, serverOptionsFromEnv, type StartServerOptions, type RunningServer } from './start-server';
export { appRouter, createAppCaller, type AppRouter } from './trpc/app-router';
export { createTrpcContext, type TrpcContext, type AuthMethod } from './trpc/trpc-context';
export { TRPC_CODE_BY_KIND, trpcCodeFor, httpStatusFor } from './error-mapping';
export { startBackgroundJobs, type BackgroundJobs, type BackgroundJobsOptions } from './background-jobs';
export { createServerMetrics, type ServerMetrics } from './server-metrics';
export { SESSION_COOKIE } from './plugins/auth-plugin';
export { SERVER_VERSION } from './server-version';
