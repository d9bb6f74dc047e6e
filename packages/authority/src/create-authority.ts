import { hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PkiError, systemClock, toPkiError, type Clock } from '@pkim/shared';
import {
  createKeyBackends,
  createSoftwareBackend,
  loadKeyEncryptionKey,
  refuseEmptyMasterKey,
  MASTER_KEY_FILE,
  type KeyBackend,
  type KeyBackendEvents,
} from '@pkim/keys';
import { IN_PROCESS_GROUP_COMMIT, openStore, parseStoreUrl, pgPoolSize, type Store } from '@pkim/store';
import type { Authority, AuthorityConfig } from './types';
import type { SshService } from './ssh/ssh-types';
import { resolveDatabaseUrl } from './database-url';
import { AUDIT_CHECKPOINT_FILE, auditCheckpointKey, auditEvent, createAuditService } from './audit-service';
import { createCaContextLoader } from './ca-context';
import { createOtherCommitsSeen } from './other-commits-seen';
import { createKeySealer, type KeySealer } from './exports/key-sealer';
import { createInventoryService } from './exports/inventory-report';
import { createCaService } from './ca-service';
import { createIssuanceService } from './issuance-service';
import type { ComputePool } from './compute/compute-pool';
import { createMaintenanceService } from './maintenance-service';
import { createStatisticsService } from './statistics-service';
import { registerInternals } from './authority-internals';
import { createCertificateService } from './certificate-service';
import { createRequestService } from './request-service';
import { createCrlService, crlPartitionFromEnv } from './crl-service';
import { createRevocationTimings } from './revocation-timings';
import { createOcspService, ocspSettingsFromEnv } from './ocsp-service';
import { createAuthService, newSession, resolveLoginThrottle, resolveTokenTtl, userActor } from './auth-service';
import { describeOidc, oidcConfigFromEnv } from './oidc/oidc-config';
import { notificationSettingsFromEnv } from './notifications/notification-config';
import { bulkSettingsFromEnv } from './bulk-settings';
import { createIdempotencyService, idempotencySettingsFromEnv } from './idempotency-service';
import {
  createNotificationSecretSealer,
  type NotificationSecretSealer,
} from './notifications/notification-secret-seal';
import { createInsightsService } from './insights-service';
import { lazyService } from './lazy-service';
import { createOptionalBackends } from './optional-backends';
import { spiffeConfigFromEnv } from './spiffe/spiffe-config';
import { effectiveProfiles, loadCustomProfiles } from './profile-loader';
import { createProfileCatalog, warnImpossibleProfiles } from './profile-service';
import { createAcmeAdminService } from './acme/acme-admin-service';
import { acmeValidationConfigFromEnv } from './acme/acme-config';
import { createEabSealer, eabSealKey } from './acme/acme-eab-seal';
import type { Profile } from '@pkim/core';

/**
 * A data directory that was never initialised (no SQLite database in it — a typo in PKIM_DATA_DIR, a wrong
 * --data-dir) is refused with `data_dir.not_initialized` naming the path, and nothing is created.
 */
function assertInitialised(dataDir: string, databaseUrl: string): void {
  const parsed = parseStoreUrl(databaseUrl);
  if (parsed.dialect !== 'sqlite' || parsed.path === ':memory:' || existsSync(parsed.path)) return;
  throw new PkiError(
    'data_dir.not_initialized',
    `'${dataDir}' is not an initialised PKI Manager data directory (no database ${resolve(parsed.path)}): run ` +
      '`pkim init` first, or check --data-dir, PKIM_DATA_DIR and the config file',
    { details: { dataDir, database: resolve(parsed.path) } },
  );
}

/**
 * The ONE wiring function used by the server and the CLI, so they can never disagree:
 * store (SQLite or PostgreSQL) → key backends (software + PKCS#11/KMIP from env) → services.
 */
/**
 * A database restored without its master key (`pkim restore` says so) must not get a new one on the next command:
 * a new key would open none of its software keys, and the restored audit checkpoint would be signed again under it.
 * Refused, naming where the key belongs; nothing is created.
 */
async function refuseNewMasterKeyForSealedKeys(store: Store, dataDir: string, masterKey: string | undefined) {
  const file = join(dataDir, MASTER_KEY_FILE);
  if (masterKey?.trim() || existsSync(file) || !(await store.keyBlobs.any())) return;
  throw new PkiError(
    'kms.master_key_missing',
    `the database holds software keys sealed under a master key that is not here: put back the master.key ` +
      `they were made with as ${file} (mode 0600), or set PKIM_MASTER_KEY; a new one would open none of them`,
    { details: { path: file } },
  );
}

export async function createAuthority(config: AuthorityConfig): Promise<Authority> {
  const clock: Clock = config.clock ?? systemClock;
  // pino loads here only when the caller brings no logger (the CLI and the server bring theirs)
  const logger = config.logger ?? (await import('./logger')).createLogger();
  // settings maps (PKIM_PKCS11_*, PKIM_KMIP_*, PKIM_SPIFFE_*, …) come from the app's config module, never process.env
  const env = config.env ?? {};
  const dataDir = resolve(config.dataDir);
  // settings are checked before anything is opened
  const crlPartition = crlPartitionFromEnv(env);
  const loginThrottle = resolveLoginThrottle(env, config.auth?.loginThrottle);
  const defaultTokenTtlMs =
    config.auth?.defaultTokenTtlMs !== undefined ? config.auth.defaultTokenTtlMs : resolveTokenTtl(env);
  const spiffeConfig = spiffeConfigFromEnv(env, config.spiffe);
  // ephemeral mode (PKIM_SPIFFE_EPHEMERAL, development and tests): in-memory database and key-encryption key
  const ephemeral = config.ephemeral ?? spiffeConfig.ephemeral;
  if (config.create === false && !ephemeral) assertInitialised(dataDir, resolveDatabaseUrl(config));
  const oidcConfig = oidcConfigFromEnv(env, config.oidc);
  const notificationSettings = notificationSettingsFromEnv(env, config.notifications);
  const bulkSettings = bulkSettingsFromEnv(env, config.bulk);
  const idempotencySettings = idempotencySettingsFromEnv(env, config.idempotency);
  const givenMasterKey = config.masterKey ?? env.PKIM_MASTER_KEY;
  if (!ephemeral) refuseEmptyMasterKey(givenMasterKey, dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // the data dir holds the database, master.key and profiles: owner only, whatever mode it had before
  try {
    chmodSync(dataDir, 0o700);
  } catch (e) {
    logger.warn({ dataDir, err: e }, 'could not restrict the data directory to mode 0700');
  }
  // PKIM_WORKERS (passed by `pkim serve`): 0 or 1 = everything on this thread
  const workers = config.workers ?? 0;
  const pooled = workers >= 2;
  const store: Store = await openStore({
    url: ephemeral ? ':memory:' : resolveDatabaseUrl(config),
    faultInjection: config.faultInjection,
    // signing on this thread: batches held while signatures run (both engines); with a pool each engine's own
    groupCommit: config.groupCommit ?? (pooled ? undefined : IN_PROCESS_GROUP_COMMIT),
    poolSize: pgPoolSize(config.workers),
    // off unless asked: on 2 cores the writer thread took more CPU per certificate than it took off the main thread
    // (idle `npm run bench` / `bench:http`: docs/benchmarks-record.md, session 13's "Where issue #12 stands")
    sqliteWriterThread: config.sqliteWriterThread ?? false,
    env,
    logger,
  });

  // key backend operations are logged; failures are also audited as kms.<operation>_failed
  const events: KeyBackendEvents = {
    onOperation(e) {
      const fields = {
        backend: e.backend,
        operation: e.operation,
        uri: e.uri,
        attempt: e.attempt,
        durationMs: e.durationMs,
        outcome: e.outcome,
        code: e.error?.code,
      };
      if (e.outcome === 'failure') {
        logger.warn(fields, `key backend ${e.operation} failed: ${e.error?.message ?? ''}`);
        store.audit
          .append(
            auditEvent(
              clock,
              'system',
              `kms.${e.operation}_failed`,
              e.uri ?? null,
              { backend: e.backend, attempt: e.attempt, code: e.error?.code, message: e.error?.message },
              'failure',
            ),
          )
          .catch((err: unknown) =>
            logger.error({ err: toPkiError(err).message }, 'could not audit key backend failure'),
          );
      } else {
        logger.debug(fields, `key backend ${e.operation}`);
      }
    },
  };

  let backends: KeyBackend[];
  let checkpointKey: Buffer;
  let keySealer: KeySealer;
  let eabKey: Buffer;
  let oidcTransactionKey: Buffer;
  let notificationSealer: NotificationSecretSealer;
  try {
    const masterKey = ephemeral ? randomBytes(32).toString('base64') : givenMasterKey;
    await refuseNewMasterKeyForSealedKeys(store, dataDir, masterKey);
    const { kek } = await loadKeyEncryptionKey({ envValue: masterKey, dataDir });
    checkpointKey = auditCheckpointKey(kek);
    keySealer = createKeySealer(kek);
    eabKey = eabSealKey(kek);
    // seals OIDC sign-in transactions (state, nonce, PKCE verifier): the same key on every instance
    oidcTransactionKey = Buffer.from(hkdfSync('sha256', kek, 'pkim', 'pkim oidc transaction v1', 32));
    notificationSealer = createNotificationSecretSealer(kek);
    backends = [createSoftwareBackend({ kek, storage: store.keyBlobs, events })];
    const overrides = config.keyBackends ?? [];
    backends = backends.filter((b) => !overrides.some((o) => o.name === b.name)).concat(overrides);
    const given = backends.map((b) => b.name);
    for (const extra of await createOptionalBackends(env, events, logger, given)) {
      if (!backends.some((b) => b.name === extra.name)) backends.push(extra);
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  const keys = createKeyBackends(backends);

  let fileProfiles: Profile[];
  try {
    fileProfiles = config.customProfiles ?? (await loadCustomProfiles(dataDir, env)).profiles;
  } catch (e) {
    await keys.close();
    await store.close();
    throw e;
  }
  // Store.otherCommits read by a request's token check, used by its CA check (one read per signed request)
  const seen = createOtherCommitsSeen(store);
  // the file's profiles and the API's (settings): `customProfiles` is kept current in place (profile-service.ts); the
  // issuance path asks the view after the request's CA check, with the value that check took (no second read)
  const profileParts = createProfileCatalog({
    store,
    clock,
    fileProfiles,
    otherCommits: () => seen.last() ?? store.otherCommits,
  });
  const customProfiles = profileParts.custom;
  const profileView = profileParts.view;
  // a profile of the file or the store that cannot issue for a key type it allows: said once, at start-up
  await profileView.fresh();
  warnImpossibleProfiles(profileParts.entries(), (fields, message) => logger.warn(fields, message));
  const contexts = createCaContextLoader(store, seen);
  const compute: ComputePool | undefined = pooled
    ? (await import('./compute/compute-pool')).createComputePool({
        size: workers,
        keys,
        logger,
        cpuProfileDir: config.workerCpuProfileDir,
      })
    : undefined;
  const common = {
    store,
    keys,
    clock,
    logger,
    contexts,
    publicBaseUrl: config.publicBaseUrl,
    customProfiles,
    profileView,
    keySealer,
    compute,
    crlPartition,
  };
  // signed checkpoints of the audit chain head: in the database and beside it (docs/security.md)
  const audit = createAuditService({
    store,
    clock,
    logger,
    checkpointKey,
    checkpointFile: ephemeral ? undefined : join(dataDir, AUDIT_CHECKPOINT_FILE),
  });
  // the signing pipeline (and the certificate planner, linter and encoder it runs) loads with the first signature
  const pipeline = lazyService(async () => (await import('./signing/signing-pipeline')).createSigningPipeline(common));
  // the re-signings in flight, which close() waits for (a CLI command that revokes closes the store right after; it
  // was cut off: 'The database connection is not open'); a whole CA's stops after its page in hand once closing
  let closing = false;
  const resignings = new Set<Promise<unknown>>();
  const resigning = (p: Promise<unknown>): void => {
    resignings.add(p);
    void p.finally(() => resignings.delete(p));
  };
  // revocations in this process reach the CRL cache at once (other processes: the recheck window)
  // and the revoked certificate's OCSP response is signed again at once (docs/ocsp.md; the responder never serves a
  // stored response that no longer says the certificate's status, whichever process revoked it)
  // a whole CA revoked: the responses of all its certificates (and its descendants'), a page at a time
  const onRevoked = (
    caIds: string[],
    revoked: { caId: string; serialHex: string }[] = [],
    wholeCas?: { caIds: string[]; revokedAt: number },
  ) => {
    crl.invalidate(caIds);
    const failed = (e: unknown) =>
      logger.warn({ err: (e as Error).message }, 'OCSP re-signing after a revocation failed');
    if (revoked.length) resigning(ocsp.presign(revoked).catch(failed));
    if (wholeCas) {
      const shouldStop = () => closing;
      resigning(ocsp.presignRevokedCas(wholeCas.caIds, wholeCas.revokedAt, { shouldStop }).catch(failed));
    }
  };
  const cas = createCaService({ ...common, pipeline, onRevoked });
  const issuance = createIssuanceService({ pipeline });
  /** a profile of this name in effect now (what a listing's profile filter asks: profile-filter.ts) */
  const profileExists = async (name: string) => {
    await profileView.fresh(name);
    return profileParts.entries().some((e) => e.profile.name === name);
  };
  const certificates = createCertificateService({ store, clock, logger, onRevoked, profileExists });
  const requests = createRequestService({ ...common, pipeline });
  const timings = createRevocationTimings(store, clock);
  const crl = createCrlService({
    ...common,
    crlValidityMs: config.crlValidityMs,
    backgroundEntries: config.crlBackgroundEntries,
    ...(config.crlDeltaBaseClaim ? { baseClaim: config.crlDeltaBaseClaim } : {}),
    timings,
  });
  const ocsp = createOcspService({ ...common, ...ocspSettingsFromEnv(env, config), timings });
  // every CA this process writes (created, certificate imported, changed, deleted — whichever path) reaches the OCSP
  // issuer index at once; other processes' at its next recheck (docs/ocsp.md). Units without CA writes (issuance)
  // get the store's own promise, untouched.
  const commitUnit = store.commit.bind(store);
  store.commit = (unit) => {
    const done = commitUnit(unit);
    if (!unit.insertCa && !unit.updateCa && !unit.deleteCas) return done;
    return done.then((r) => {
      ocsp.issuersChanged();
      return r;
    });
  };
  const auth = createAuthService(
    { store, clock, logger, audit, seen },
    { ...config.auth, loginThrottle, defaultTokenTtlMs },
  );
  const sessionTtlMs = config.auth?.sessionTtlMs ?? 12 * 3_600_000;
  const oidc = lazyService(
    async () =>
      (await import('./oidc/oidc-service')).createOidcService({
        store,
        clock,
        logger,
        config: oidcConfig,
        transactionKey: oidcTransactionKey,
        async openSession(user, method, extra) {
          const s = newSession(user.id, clock.now(), sessionTtlMs, method);
          const events = extra.audit.map((e) => ({ ...e, details: { ...e.details, sessionId: s.row.id } }));
          await store.commit({ insertSessions: [s.row], audit: events });
          return {
            sessionToken: s.sessionToken,
            csrfToken: s.row.csrfToken,
            expiresAt: s.row.expiresAt,
            actor: userActor(user),
          };
        },
      }),
    { fixed: { describe: () => describeOidc(oidcConfig) } },
  );
  const spiffe = lazyService(
    async () =>
      (await import('./spiffe/spiffe-service')).createSpiffeService({
        store,
        clock,
        logger,
        auth,
        sign: pipeline.sign,
        config: spiffeConfig,
      }),
    { fixed: { config: spiffeConfig } },
  );
  const vault = lazyService(
    async () =>
      (await import('./vault/vault-service')).createVaultService({
        store,
        clock,
        logger,
        contexts,
        cas,
        certificates,
        crl,
        ocsp,
        auth,
        audit,
        sign: pipeline.sign,
        revocation: cas,
        keys,
        health: () => health(),
        onCrlConfigured: (caId: string) => {
          timings.invalidate(caId);
          crl.invalidate([caId]);
          crl.deltaSettingsChanged(); // delta CRLs on or off: the server's schedule looks again
        },
      }),
    // the Vault API's parts are stand-ins for the parts of the one Vault service
    { parts: ['mounts', 'auth', 'pki', 'issuers', 'seal'] },
  );
  const acmeValidation = acmeValidationConfigFromEnv(env);
  const acme = lazyService(
    async () =>
      (await import('./acme/acme-service')).createAcmeService({
        store,
        clock,
        logger,
        contexts,
        certificates,
        sign: pipeline.sign,
        validation: acmeValidation,
        customProfiles,
        profileView,
        eabSealer: createEabSealer(eabKey),
      }),
    // nothing under way before the first ACME call: closing does not load the ACME server
    { fixed: { validation: acmeValidation }, unmade: { settle: async () => undefined } },
  );
  // services made on their first call (lazy-service.ts): their modules load then, not with every CLI command
  // the fleet-token rate windows it holds (internals' held.fleetWindows): none before it is made
  let fleetWindowsHeld = () => 0;
  const ssh = lazyService(async (): Promise<SshService> => {
    const made = (await import('./ssh/ssh-service')).createSshService({
      store,
      keys,
      clock,
      logger,
      publicBaseUrl: config.publicBaseUrl,
    });
    fleetWindowsHeld = () => made.fleetWindowsHeld();
    return made;
  });

  async function health() {
    let database = false;
    try {
      database = await store.ping();
    } catch {
      database = false;
    }
    const keyBackends = await keys.health();
    return { ok: database && keyBackends.every((k) => k.ok), database, keyBackends };
  }
  const insights = createInsightsService({ store, clock, health, publicBaseUrl: config.publicBaseUrl });
  const notifications = lazyService(async () =>
    (await import('./notifications/notification-service')).createNotificationService({
      store,
      clock,
      logger,
      settings: notificationSettings,
      sealer: notificationSealer,
      health,
      profileExists,
    }),
  );
  const exportsService = lazyService(async () =>
    (await import('./exports/export-service')).createExportService({
      store,
      clock,
      logger,
      contexts,
      keySealer,
      findCertificate: (ref) => certificates.find(ref),
    }),
  );
  const renewal = lazyService(async () =>
    (await import('./lifecycle/renewal-service')).createRenewalService({
      store,
      clock,
      logger,
      sign: pipeline.sign,
      keySealer,
      customProfiles,
      profileView,
      findCertificate: (ref) => certificates.find(ref),
      onRevoked,
    }),
  );
  const bulk = lazyService(async () =>
    (await import('./lifecycle/bulk-service')).createBulkService({
      store,
      clock,
      logger,
      pipeline,
      exports: exportsService,
      maxRows: bulkSettings.maxRows,
    }),
  );
  const batch = lazyService(async () =>
    (await import('./lifecycle/batch-service')).createBatchService({
      store,
      clock,
      logger,
      certificates,
      renewal,
      exports: exportsService,
    }),
  );

  const bulkJobs = lazyService(
    async () =>
      (await import('./lifecycle/bulk-jobs')).createBulkJobs({
        clock,
        logger,
        store,
        keySealer,
        bulk,
        batch,
        retentionMs: bulkSettings.jobRetentionMs,
      }),
    // an instance that ran no job has none to interrupt
    { unmade: { stop: async () => undefined, idle: async () => undefined } },
  );

  const authority: Authority = {
    config,
    clock,
    logger,
    sign: pipeline.sign,
    cas,
    issuance,
    certificates,
    requests,
    crl,
    ocsp,
    audit,
    auth,
    oidc,
    notifications,
    vault,
    insights,
    exports: exportsService,
    inventory: createInventoryService({ store, clock, profileExists }),
    renewal,
    bulk,
    batch,
    bulkJobs,
    idempotency: createIdempotencyService({ store, clock, logger, settings: idempotencySettings }),
    ssh,
    spiffe,
    acme,
    acmeAdmin: createAcmeAdminService({ store, clock }),
    maintenance: createMaintenanceService({ store, clock, logger, crl, ocsp, audit }),
    statistics: createStatisticsService({ store, clock }),
    describe: () => ({
      databaseDialect: store.dialect,
      keyBackends: keys.names(),
      workers: compute?.size ?? 0,
      workerJobs: compute?.jobs ?? 0,
      workerJobsByKind: compute?.jobsByKind ?? {},
      workerMessages: compute?.messages ?? { jobs: 0, answers: 0 },
      commits: store.commitStats(),
    }),
    profiles: () => effectiveProfiles(customProfiles),
    profileCatalog: profileParts.catalog,
    health,
    async close() {
      closing = true;
      await Promise.allSettled([...resignings]);
      await acme.settle();
      await bulkJobs.stop().catch((e: unknown) => {
        logger.warn({ err: toPkiError(e).message }, 'could not mark the running bulk jobs interrupted');
      });
      // every process that wrote events leaves a signed checkpoint of the head behind (CLI runs, server stop)
      await audit.checkpoint().catch((e: unknown) => {
        logger.warn({ err: toPkiError(e).message }, 'could not write the audit checkpoint');
      });
      await compute?.close();
      await keys.close();
      await store.close();
    },
  };
  registerInternals(authority, {
    store,
    keys,
    held: { tokenTouches: () => auth.tokenTouchesHeld(), fleetWindows: () => fleetWindowsHeld() },
  });
  return authority;
}
