import { router, createCallerFactory } from './trpc-init';
import { caRouter } from './routers/ca-router';
import { certificateRouter } from './routers/certificate-router';
import { requestRouter } from './routers/request-router';
import { auditRouter } from './routers/audit-router';
import { userRouter } from './routers/user-router';
import { tokenRouter } from './routers/token-router';
import { systemRouter } from './routers/system-router';
import { insightsRouter } from './routers/insights-router';
import { spiffeRouter } from './routers/spiffe-router';
import { sshRouter } from './routers/ssh-router';
import { exportsRouter } from './routers/exports-router';
import { acmeRouter } from './routers/acme-router';
import { renewalRouter } from './routers/renewal-router';
import { notificationRouter } from './routers/notification-router';
import { vaultRouter } from './routers/vault-router';
import { bulkRouter } from './routers/bulk-router';
import { profilesRouter } from './routers/profiles-router';

/** One router per domain. The web console imports `type AppRouter` for end-to-end types. */
export const appRouter = router({
  ca: caRouter,
  certificate: certificateRouter,
  request: requestRouter,
  audit: auditRouter,
  user: userRouter,
  token: tokenRouter,
  system: systemRouter,
  insights: insightsRouter,
  spiffe: spiffeRouter,
  ssh: sshRouter,
  exports: exportsRouter,
  acme: acmeRouter,
  renewal: renewalRouter,
  notification: notificationRouter,
  vault: vaultRouter,
  bulk: bulkRouter,
  profiles: profilesRouter,
});

export type AppRouter = typeof appRouter;

export const createAppCaller = createCallerFactory(appRouter);
