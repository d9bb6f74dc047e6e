import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PkiError, parseDuration } from '@pkim/shared';
import type {
  CertificateTemplate,
  ConnectionView,
  KeystoreCertManager,
  KeystoreStore,
  VaultAuth,
  VaultClient,
} from '@pkim/keystore-certs';
// the template module alone (no Vault client or store): its key types are the --key-type parser's values
import { TEMPLATE_KEY_TYPES } from '@pkim/keystore-certs/templates';
import type { CliContext } from '../cli-context';
import { choiceOption } from '../cli-parsers';
import { table } from '../format';
import { assertOutputFree, writeOutputFile } from '../output-files';

interface KeystoreOpts {
  vaultAddr?: string;
  vaultToken?: string;
  vaultNamespace?: string;
  vaultCa?: string;
  k8sRole?: string;
  k8sJwtFile?: string;
  k8sMount?: string;
  approleRoleId?: string;
  approleSecretId?: string;
  mount?: string;
  state?: string;
  kekFile?: string;
  renewBefore?: string;
  grace?: string;
  retryAfter?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * `pkim keystore …`: the tenant keystore client-certificate lifecycle (packages/keystore-certs) against any
 * Vault-compatible PKI — `pkim serve` (/v1/) or OpenBao/Vault. State (connections, encrypted keys, events) lives in
 * its own SQLite file; the key-encryption key in a separate file or PKIM_KEYSTORE_KEK.
 */
export function registerKeystoreCommand(program: Command, ctx: CliContext): void {
  const ks = program
    .command('keystore')
    .description(
      'tenant keystore client certificates (HSM/KMS mTLS) through the Vault-compatible API: connect, renew, rotate, ' +
        'revoke on disconnect',
    )
    .option('--vault-addr <url>', 'Vault-compatible API (env VAULT_ADDR, default http://127.0.0.1:8200)')
    .option('--vault-token <token>', 'token (env VAULT_TOKEN), e.g. from `pkim token create --json`')
    .option('--vault-namespace <ns>', 'X-Vault-Namespace (env VAULT_NAMESPACE)')
    .option('--vault-ca <file>', 'PEM trusted for an https Vault address (env VAULT_CACERT)')
    .option('--k8s-role <role>', 'log in with Kubernetes auth as this role instead of a token')
    .option(
      '--k8s-jwt-file <file>',
      'service-account token file (default /var/run/secrets/kubernetes.io/serviceaccount/token)',
    )
    .option('--k8s-mount <path>', 'Kubernetes auth mount (default kubernetes)')
    .option('--approle-role-id <id>', 'log in with AppRole (env VAULT_ROLE_ID)')
    .option('--approle-secret-id <id>', 'AppRole secret id (env VAULT_SECRET_ID)')
    .option('--mount <path>', 'PKI mount (env PKIM_KEYSTORE_MOUNT, default pki)')
    .option('--state <file>', 'lifecycle database (env PKIM_KEYSTORE_STATE, default <data dir>/keystore/keystore.db)')
    .option('--kek-file <file>', 'key-encryption key file, created 0600 (default <data dir>/keystore/kek.key)')
    .option('--renew-before <duration>', 'renew this long before expiry (default 30d)')
    .option('--grace <duration>', 'keep the previous certificate valid this long after a rotation (default 7d)')
    .option('--retry-after <duration>', 'retry a failed rotation after (default 1h)');

  const opened: { store?: KeystoreStore; vault?: VaultClient } = {};
  const closeStore = () => {
    opened.store?.close();
    opened.vault?.close();
    opened.store = undefined;
    opened.vault = undefined;
  };

  /** the keystore client (better-sqlite3, Drizzle, the Vault client), loaded by open() before any use */
  let rt: typeof import('../lazy/keystore-runtime');
  async function open(): Promise<{ manager: KeystoreCertManager; store: KeystoreStore; vault: VaultClient }> {
    rt = await import('../lazy/keystore-runtime');
    const o = ks.opts<KeystoreOpts>();
    const dataDir = ctx.options().dataDir;
    const env = ctx.config().env;
    let auth: VaultAuth | undefined;
    if (o.k8sRole) {
      auth = {
        method: 'kubernetes',
        role: o.k8sRole,
        jwtFile: o.k8sJwtFile ?? '/var/run/secrets/kubernetes.io/serviceaccount/token',
        mount: o.k8sMount,
      };
    } else if (o.approleRoleId ?? env.VAULT_ROLE_ID) {
      auth = {
        method: 'approle',
        roleId: (o.approleRoleId ?? env.VAULT_ROLE_ID)!,
        secretId: o.approleSecretId ?? env.VAULT_SECRET_ID ?? '',
      };
    } else {
      const token = o.vaultToken ?? env.VAULT_TOKEN;
      if (token) auth = { method: 'token', token };
    }
    const caFile = o.vaultCa ?? env.VAULT_CACERT;
    const vault = rt.createVaultClient({
      address: o.vaultAddr ?? env.VAULT_ADDR ?? 'http://127.0.0.1:8200',
      auth,
      namespace: o.vaultNamespace ?? env.VAULT_NAMESPACE,
      caPem: caFile ? readFileSync(caFile, 'utf8') : undefined,
    });
    const store = rt.openKeystoreStore(o.state ?? env.PKIM_KEYSTORE_STATE ?? join(dataDir, 'keystore', 'keystore.db'));
    opened.store = store;
    opened.vault = vault;
    const kek = rt.loadLocalKek(o.kekFile ?? join(dataDir, 'keystore', 'kek.key'), env);
    const dur = (v: string | undefined) => (v === undefined ? undefined : parseDuration(v));
    const logger = await ctx.logger('info');
    const manager = rt.createKeystoreCertManager({
      store,
      vault,
      kek,
      mount: o.mount ?? env.PKIM_KEYSTORE_MOUNT ?? 'pki',
      renewBeforeMs: dur(o.renewBefore),
      gracePeriodMs: dur(o.grace),
      retryAfterMs: dur(o.retryAfter),
      actor: ctx.actor.id,
      logger,
    });
    return { manager, store, vault };
  }

  /** runs a subcommand with the store open and closes it afterwards */
  const run =
    <A extends unknown[]>(fn: (m: KeystoreCertManager, store: KeystoreStore, ...args: A) => Promise<void> | void) =>
    async (...args: A) => {
      const { manager, store } = await open();
      try {
        await fn(manager, store, ...args);
      } finally {
        closeStore();
      }
    };

  const summary = (v: ConnectionView) =>
    [
      `${v.tenantId}/${v.keystoreType} → ${v.endpoints.join(', ')}`,
      ...v.certificates.map(
        (c) =>
          `  ${c.status.padEnd(8)} ${c.serialNumber}  ${c.commonName}  until ${c.notAfter}` +
          (c.status === 'active' ? `  renew ${c.renewAt}` : '') +
          (c.status === 'rotating' ? `  revoked at ${c.dueAt}` : '') +
          (c.error ? `  (${c.error})` : ''),
      ),
    ].join('\n');

  ks.command('init-roles')
    .description('write the Vault role of every template on the mount (client auth, the template key, its domains)')
    .option('--type <type>', 'only this keystore type (repeatable)', collect)
    .action(
      run(async (manager, _s, o: { type?: string[] }) => {
        const types = o.type ?? Object.keys(manager.templates());
        const vault = opened.vault!;
        const written: { type: string; role: string; params: Record<string, unknown> }[] = [];
        for (const type of types) {
          const t = manager.template(type);
          const params = rt.roleForTemplate(t);
          await vault.writeRole(manager.mount, rt.roleName(type, t), params);
          written.push({ type, role: rt.roleName(type, t), params });
        }
        ctx.output({ items: written, nextCursor: null }, () =>
          written.map((w) => `wrote ${manager.mount}/roles/${w.role} (${w.type})`).join('\n'),
        );
      }),
    );

  ks.command('templates')
    .description('certificate templates per keystore type (built-in thales_luna, aws_kms; custom ones replace them)')
    .action(
      run((m) => {
        const all = m.templates();
        ctx.output(all, () =>
          table(
            ['TYPE', 'COMMON NAME', 'KEY', 'TTL', 'ROLE', 'SOURCE'],
            Object.entries(all).map(([k, t]) => [
              k,
              t.commonNamePattern,
              `${t.keyType}-${t.keyBits}`,
              t.ttl,
              rt.roleName(k, t),
              t.builtIn ? 'built-in' : 'custom',
            ]),
          ),
        );
      }),
    );

  const template = ks.command('template').description('define or remove a custom certificate template');
  template
    .command('set <type>')
    .description('define the template of a keystore type (replaces a built-in one of that name)')
    .requiredOption(
      '--cn-pattern <pattern>',
      'common name, with {tenant_id} (e.g. tenant-{tenant_id}-fx.keystore.internal)',
    )
    .option('--alt-name <pattern>', 'DNS SAN pattern (repeatable)', collect)
    .option('--key-type <type>', 'rsa | ec | ed25519 (default ec)', choiceOption('key type', TEMPLATE_KEY_TYPES))
    .option('--key-bits <bits>', 'rsa 2048/3072/4096, ec 256/384', (v) => Number(v))
    .option('--ttl <duration>', 'Vault duration (default 8760h)')
    .option('--role <role>', 'Vault role (default keystore-<type>)')
    .action(
      run(
        (
          m,
          _s,
          type: string,
          o: {
            cnPattern: string;
            altName?: string[];
            keyType?: CertificateTemplate['keyType'];
            keyBits?: number;
            ttl?: string;
            role?: string;
          },
        ) => {
          const t = m.setTemplate(type, {
            commonNamePattern: o.cnPattern,
            altNamePatterns: o.altName,
            keyType: o.keyType,
            keyBits: o.keyBits,
            ttl: o.ttl,
            role: o.role,
          });
          ctx.output(
            { type, ...t },
            () => `template ${type}: ${t.commonNamePattern}, ${t.keyType}-${t.keyBits}, ${t.ttl}`,
          );
        },
      ),
    );
  template
    .command('delete <type>')
    .description('remove a custom template (a built-in one of that name applies again)')
    .action(
      run((m, _s, type: string) => {
        m.deleteTemplate(type);
        ctx.output({ type, deleted: true }, () => `template ${type} deleted`);
      }),
    );

  ks.command('connect <tenant> <type>')
    .description('a tenant connects a keystore: certificate issued, key sealed, mTLS handshake tested, activated')
    .requiredOption(
      '--endpoint <host:port>',
      'keystore endpoint (repeatable; every one must accept the certificate)',
      collect,
    )
    .option('--server-ca <file>', 'PEM trusted for the keystore server certificate (default: system roots)')
    .option('--server-name <name>', 'SNI and expected server name (default: the endpoint host)')
    .action(
      run(
        async (
          m,
          _s,
          tenant: string,
          type: string,
          o: { endpoint: string[]; serverCa?: string; serverName?: string },
        ) => {
          const v = await m.connect({
            tenantId: tenant,
            keystoreType: type,
            endpoints: o.endpoint,
            serverCaPem: o.serverCa ? readFileSync(o.serverCa, 'utf8') : undefined,
            serverName: o.serverName,
          });
          ctx.output(v, () => summary(v));
        },
      ),
    );

  ks.command('list')
    .description('keystore connections and their certificates (no key material)')
    .option('--tenant <tenant>', 'only this tenant')
    .action(
      run((m, _s, o: { tenant?: string }) => {
        const rows = m.status(o.tenant);
        ctx.output({ items: rows, nextCursor: null }, () =>
          table(
            ['TENANT', 'KEYSTORE', 'SERIAL', 'NOT AFTER', 'RENEW AT', 'OTHER'],
            rows.map((v) => [
              v.tenantId,
              v.keystoreType,
              v.active?.serialNumber ?? '(none active)',
              v.active?.notAfter ?? '',
              v.active?.renewAt ?? '',
              v.certificates
                .filter((c) => c.status !== 'active')
                .map((c) => c.status)
                .join(','),
            ]),
          ),
        );
      }),
    );

  ks.command('show <tenant> <type>')
    .description('one connection with all its certificates')
    .action(
      run((m, _s, tenant: string, type: string) => {
        const v = m.connection(tenant, type);
        ctx.output(v, () => summary(v));
      }),
    );

  ks.command('rotate <tenant> <type>')
    .description(
      'rotate now: issue, test with an mTLS handshake, activate; the previous one is revoked after the grace period',
    )
    .action(
      run(async (m, _s, tenant: string, type: string) => {
        const r = await m.rotate(tenant, type, 'manual');
        if (!r.ok) {
          throw new PkiError(
            'keystore.handshake_failed',
            `${tenant}/${type}: the keystore refused the new certificate (${r.error}); the current one stays active`,
          );
        }
        const v = m.connection(tenant, type);
        ctx.output(v, () => summary(v));
      }),
    );

  ks.command('disconnect <tenant> <type>')
    .description('the tenant disconnects the keystore: every certificate revoked (CRL), keys and rows deleted')
    .action(
      run(async (m, _s, tenant: string, type: string) => {
        const r = await m.disconnect(tenant, type);
        ctx.output(
          { tenantId: tenant, keystoreType: type, ...r },
          () => `disconnected ${tenant}/${type}; revoked ${r.revoked.length ? r.revoked.join(', ') : 'nothing'}`,
        );
      }),
    );

  ks.command('export <tenant> <type>')
    .description('write the active certificate, chain and private key (0600) for the keystore client')
    .requiredOption('--out-dir <dir>', 'directory for <tenant>-<type>.crt, .key and -chain.pem')
    .action(
      run(async (m, _s, tenant: string, type: string, o: { outDir: string; force?: boolean }) => {
        const base = join(o.outDir, `${tenant}-${type}`);
        assertOutputFree(`${base}.key`, 'key', o.force);
        for (const f of [`${base}.crt`, `${base}-chain.pem`]) assertOutputFree(f, 'public', o.force);
        const c = await m.credentials(tenant, type);
        try {
          mkdirSync(o.outDir, { recursive: true });
          writeOutputFile(`${base}.crt`, `${c.certificatePem.trim()}\n`);
          writeOutputFile(`${base}-chain.pem`, `${c.caChain.map((p) => p.trim()).join('\n')}\n`);
          writeOutputFile(`${base}.key`, c.privateKeyPem, 0o600);
          const files = { certificate: `${base}.crt`, chain: `${base}-chain.pem`, privateKey: `${base}.key` };
          ctx.output({ serialNumber: c.serialNumber, ...files }, () => Object.values(files).join('\n'));
        } finally {
          c.privateKeyPem.fill(0);
        }
      }),
    );

  ks.command('run')
    .description('the scheduler: renew what is due, revoke after the grace period (every --interval; --once: one pass)')
    .option('--interval <duration>', 'time between passes (default 60s)')
    .option('--once', 'one pass, print its summary, exit')
    .action(async (o: { interval?: string; once?: boolean }) => {
      const { manager } = await open();
      if (o.once) {
        try {
          const s = await manager.tick();
          ctx.output(
            s,
            () =>
              `renewed ${s.renewed.length}, renewal failed ${s.renewalFailed.length}, revoked after grace ` +
              `${s.revokedAfterGrace.length}, errors ${s.errors.length}` +
              [
                ...s.renewalFailed.map((f) => `\n  ${f.connection}: ${f.error}`),
                ...s.errors.map((e) => `\n  ${e.target}: ${e.error}`),
              ].join(''),
          );
          if (s.errors.length || s.renewalFailed.length) ctx.setExitCode(7);
        } finally {
          closeStore();
        }
        return;
      }
      const scheduler = rt.createKeystoreScheduler({
        manager,
        intervalMs: o.interval ? parseDuration(o.interval) : 60_000,
        logger: await ctx.logger('info'),
      });
      scheduler.start();
      ctx.io.stderr.write(`keystore scheduler running (mount ${manager.mount}); Ctrl-C stops it\n`);
      // runs until SIGINT/SIGTERM: then the binary exits (io.exit), an in-process run returns
      await new Promise<void>((resolve) => {
        const stop = async () => {
          await scheduler.stop();
          closeStore();
          if (ctx.io.exit) ctx.io.exit(0);
          else resolve();
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
      });
    });

  ks.command('events')
    .description('the lifecycle event log (hash-chained); --verify walks the chain')
    .option('--limit <n>', 'last n events (default 50)', (v) => Number(v))
    .option('--verify', 'verify the hash chain')
    .action(
      run((_m, store, o: { limit?: number; verify?: boolean }) => {
        if (o.verify) {
          const r = store.verifyEvents();
          ctx.output(r, () =>
            r.ok ? `event chain OK (${r.count} events)` : `event chain BROKEN at seq ${r.brokenAt}`,
          );
          if (!r.ok) ctx.setExitCode(1);
          return;
        }
        // the output contract: times as RFC 3339, a list as { items, nextCursor } (the newest --limit events)
        const rows = store
          .events(o.limit ?? 50)
          .map((e) => ({ ...e, time: new Date(e.time).toISOString(), details: JSON.parse(e.details) as unknown }));
        ctx.output({ items: rows, nextCursor: null }, () =>
          table(
            ['SEQ', 'TIME', 'ACTION', 'TARGET', 'OUTCOME'],
            rows.map((e) => [e.seq, e.time, e.action, e.target, e.outcome]),
          ),
        );
      }),
    );
}
