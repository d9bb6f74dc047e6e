import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { KeyType } from '@pkim/shared';
import type { CreateSshCaInput, SshCertType, SshFleetOperation } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { backendOption, collect, durationOption, intOption, keyTypeOption, readInputFile } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { offering } from '../option-values';
import {
  date,
  printSshTrust,
  sshBlocksTable,
  sshCaText,
  sshCasTable,
  sshCertificatesTable,
  sshEnvironmentsTable,
  sshFleetTokensTable,
  sshHostsTable,
  sshPrincipalsTable,
  sshTrustFile,
  sshUsersTable,
  type SshTrustOptions,
} from '../format';

const list = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : v ? [v] : [])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

type CaBackend = CreateSshCaInput['backend'];
type SshCertificateStatus = 'active' | 'revoked' | 'expired';

/** the options of `pkim ssh sign` as commander parses them */
interface SignOptions {
  ca: string;
  publicKey: string;
  principal: string[];
  host?: boolean;
  ttl?: number;
  keyId?: string;
  user?: string;
  onHost?: string;
  forceCommand?: string;
  sourceAddress?: string;
  extension: string[];
  /** false with --no-extensions */
  extensions: boolean;
  out?: string;
}

const statusOption = offering(['active', 'revoked', 'expired'], (v: string): SshCertificateStatus => {
  if (v !== 'active' && v !== 'revoked' && v !== 'expired')
    throw new PkiError('input.invalid', `--status must be active, revoked or expired, got '${v}'`);
  return v;
});

const typeOption = offering(['user', 'host'], (v: string): SshCertType => {
  if (v !== 'user' && v !== 'host') throw new PkiError('input.invalid', `--type must be user or host, got '${v}'`);
  return v;
});

/** `ssh sign`'s critical options and extensions (undefined extensions: the CA's default set) */
export function signOptions(o: Pick<SignOptions, 'forceCommand' | 'sourceAddress' | 'extension' | 'extensions'>) {
  const critical: Record<string, string | true> = {};
  if (o.forceCommand !== undefined) critical['force-command'] = o.forceCommand;
  if (o.sourceAddress !== undefined) critical['source-address'] = o.sourceAddress;
  const ext = list(o.extension);
  const extensions = !o.extensions
    ? {}
    : ext.length
      ? Object.fromEntries(ext.map((e) => [e, true as const]))
      : undefined;
  return { critical, extensions };
}

export function registerSshCommand(program: Command, ctx: CliContext): void {
  const ssh = program.command('ssh').description('SSH certificate authority: CAs, certificates, KRLs, registry');

  // ---------------------------------------------------------------------------------------------- CAs
  const ca = ssh.command('ca').description('SSH user and host CAs');
  ca.command('create')
    .description('create an SSH CA (key in a key backend); prints its public key')
    .requiredOption('--name <name>', 'CA name')
    .requiredOption('--type <type>', 'user or host', typeOption)
    .option('--key-type <type>', 'ed25519 (default), ec-p256, ec-p384, rsa-4096', keyTypeOption)
    .option('--backend <name>', 'key backend: software (default), pkcs11, kmip', backendOption)
    .option('--environment <env>', 'trust boundary (default: default)')
    .option('--max-ttl <duration>', 'longest certificate it signs (default 30d user / 365d host)', durationOption)
    .option('--default-ttl <duration>', 'default certificate lifetime (default 8h user / 30d host)', durationOption)
    .action(
      async (o: {
        name: string;
        type: SshCertType;
        keyType?: KeyType;
        backend?: CaBackend;
        environment?: string;
        maxTtl?: number;
        defaultTtl?: number;
      }) => {
        const a = await ctx.openAuthority();
        const v = await a.ssh.createCa(
          {
            name: o.name,
            type: o.type,
            keyType: o.keyType,
            backend: o.backend,
            environment: o.environment,
            maxTtlMs: o.maxTtl,
            defaultTtlMs: o.defaultTtl,
          },
          ctx.actor,
        );
        ctx.output((await ctx.contract()).toSshCaDto(v), () => v.publicKey);
      },
    );
  ca.command('list')
    .description('list SSH CAs')
    .option('--environment <env>', 'only the CAs of this environment')
    .action(async (o: { environment?: string }) => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.cas(a.ssh, o.environment);
      ctx.output(page, () => sshCasTable(page.items));
    });
  ca.command('show <ca>')
    .description('show an SSH CA and its public key')
    .action(async (ref: string) => {
      const a = await ctx.openAuthority();
      const s = (await ctx.contract()).toSshCaDto(await a.ssh.getCa(ref));
      ctx.output(s, () => sshCaText(s));
    });
  ca.command('rotate')
    .description('new active CA for an environment and type; the current one keeps being trusted until it retires')
    .requiredOption('--type <type>', 'user or host', typeOption)
    .option('--environment <env>', 'environment whose CA rotates (default: default)')
    .option('--name <name>', 'name of the new CA')
    .option('--key-type <type>', 'key type of the new CA (default: as the current one)', keyTypeOption)
    .action(async (o: { type: SshCertType; environment?: string; name?: string; keyType?: KeyType }) => {
      const a = await ctx.openAuthority();
      const r = await a.ssh.rotateCa(
        { type: o.type, environment: o.environment, name: o.name, keyType: o.keyType },
        ctx.actor,
      );
      ctx.output(
        { created: (await ctx.contract()).toSshCaDto(r.created), rotating: r.rotating.map((c) => c.name) },
        () => `created ${r.created.ca.name} (active); rotating: ${r.rotating.map((c) => c.name).join(', ')}`,
      );
    });
  ca.command('retire')
    .description('retire rotating CAs whose last certificate has expired')
    .action(async () => {
      const a = await ctx.openAuthority();
      const r = await a.ssh.retireExpiredCas(ctx.actor);
      ctx.output({ retired: r.map((c) => c.name) }, () => `retired: ${r.map((c) => c.name).join(', ') || '(none)'}`);
    });

  // ---------------------------------------------------------------------------------------------- sign
  ssh
    .command('sign')
    .description('sign an OpenSSH user (default) or host certificate for a public key')
    .requiredOption('--ca <ca>', 'SSH CA name or id')
    .requiredOption('--public-key <file>', 'the .pub file to certify (- for stdin)')
    .option('--principal <names>', 'principal(s), comma separated or repeated', collect, [])
    .option('--host', 'a host certificate (principals are host names)')
    .option('--ttl <duration>', 'lifetime, e.g. 1h, 30d (default: the CA default)', durationOption)
    .option('--key-id <id>', 'key id (default: <type>:<subject>:<serial>)')
    .option('--user <name>', 'registered SSH user: principals must be granted; blocks apply')
    .option('--on-host <name>', 'registered host the certificate is for (user blocks on it apply; host names)')
    .option('--force-command <cmd>', 'critical option force-command')
    .option('--source-address <cidrs>', 'critical option source-address (comma-separated CIDRs)')
    .option('--extension <name>', 'extension (repeat); replaces the default set', collect, [])
    .option('--no-extensions', 'no extensions at all (user certificates)')
    .option('--out <file>', 'write the -cert.pub here')
    .action(async (o: SignOptions) => {
      const a = await ctx.openAuthority();
      const { critical, extensions } = signOptions(o);
      const issued = await a.ssh.sign(
        {
          ca: o.ca,
          publicKey: readInputFile(o.publicKey, 'public key'),
          type: o.host ? 'host' : 'user',
          principals: list(o.principal),
          ttlMs: o.ttl,
          keyId: o.keyId,
          user: o.user,
          host: o.onHost,
          criticalOptions: critical,
          extensions,
        },
        ctx.actor,
      );
      if (o.out) writeOutputFile(o.out, `${issued.line}\n`);
      const dto = (await ctx.contract()).toSshCertificateDto(issued.certificate, o.ca);
      ctx.output({ ...dto, line: issued.line, out: o.out ?? null }, () =>
        o.out ? `serial ${issued.certificate.serial} written to ${o.out}` : issued.line,
      );
    });
  ssh
    .command('list')
    .description('list SSH certificates')
    .option('--ca <ca>', 'only the certificates of this SSH CA (name or id)')
    .option('--status <status>', 'active, revoked, expired', statusOption)
    .option('--limit <n>', 'page size', intOption)
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .action(async (o: { ca?: string; status?: SshCertificateStatus; limit?: number; cursor?: string }) => {
      const a = await ctx.openAuthority();
      const query = { ca: o.ca, status: o.status, limit: o.limit, cursor: o.cursor };
      const page = await (await ctx.contract()).sshLists.certificates(a.ssh, query);
      ctx.output(page, () => sshCertificatesTable(page.items, page.nextCursor));
    });

  // ---------------------------------------------------------------------------------------------- revocation
  ssh
    .command('revoke [serial]')
    .description('revoke an SSH certificate by serial, or every certificate of a key id / public key')
    .requiredOption('--ca <ca>', 'SSH CA name or id')
    .option('--key-id <id>', 'revoke every active certificate with this key id')
    .option('--public-key <file>', 'revoke every active certificate of this key (and the key itself)')
    .option('--reason <text>', 'why, kept in the audit log')
    .action(
      async (serial: string | undefined, o: { ca: string; keyId?: string; publicKey?: string; reason?: string }) => {
        const a = await ctx.openAuthority();
        const r = await a.ssh.revoke(
          {
            ca: o.ca,
            serial,
            keyId: o.keyId,
            publicKey: o.publicKey ? readInputFile(o.publicKey, 'public key') : undefined,
            reason: o.reason,
          },
          ctx.actor,
        );
        ctx.output(
          { revoked: r.revoked.map((c) => c.serial), krlVersion: r.krlVersion },
          () => `revoked ${r.revoked.map((c) => c.serial).join(', ')} (KRL version ${r.krlVersion})`,
        );
      },
    );
  ssh
    .command('krl')
    .description('write the KRL (OpenSSH key revocation list) of a CA, or of a host (adds its user blocks)')
    .option('--ca <ca>', 'SSH CA name or id')
    .option('--host <name>', 'host name (per-host KRL)')
    .option('--environment <env>', "the host's environment (default: default)")
    .requiredOption('--out <file>', 'KRL file to write (binary; RevokedKeys in sshd_config)')
    .action(async (o: { ca?: string; host?: string; environment?: string; out: string }) => {
      const a = await ctx.openAuthority();
      if (!o.ca === !o.host) throw new PkiError('input.invalid', 'give either --ca or --host');
      const k = o.ca ? await a.ssh.caKrl(o.ca) : await a.ssh.hostKrl(o.environment ?? 'default', o.host ?? '');
      writeOutputFile(o.out, k.krl);
      ctx.output(
        { scope: k.scope, version: k.version, etag: k.etag, generatedAt: date(k.generatedAt), out: o.out },
        () => `KRL ${k.scope} version ${k.version} written to ${o.out}`,
      );
    });
  ssh
    .command('trust')
    .description(
      'TrustedUserCAKeys and @cert-authority known_hosts lines of an environment: --user or --host prints one file',
    )
    .option('--environment <env>', 'environment (default: default)')
    .option('--user', "only sshd's TrustedUserCAKeys file, as it is (redirect it to the file)")
    .option('--host', "only the clients' known_hosts lines (@cert-authority), as they are (redirect them to the file)")
    .action(async (o: SshTrustOptions) => {
      sshTrustFile(o, !!ctx.options().json); // a usage mistake before anything is read
      const a = await ctx.openAuthority();
      const t = await a.ssh.trust(o.environment);
      printSshTrust(ctx, (await ctx.contract()).toSshTrustDto(o.environment, t), t, o);
    });

  // ---------------------------------------------------------------------------------------------- registry
  const env = ssh.command('env').description('environments (trust boundaries)');
  env
    .command('create <name>')
    .description('create an environment (a trust boundary: its own CAs, hosts and KRLs)')
    .option('--description <text>', 'what the environment is for')
    .action(async (name: string, o: { description?: string }) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.createEnvironment({ name, description: o.description }, ctx.actor);
      ctx.output((await ctx.contract()).toSshEnvironmentDto(row), () => `created environment ${row.name}`);
    });
  env
    .command('list')
    .description('list environments')
    .action(async () => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.environments(a.ssh);
      ctx.output(page, () => sshEnvironmentsTable(page.items));
    });

  const host = ssh.command('host').description('hosts registry');
  host
    .command('add <name>')
    .description('register a host (host certificates, per-host KRLs and deploy bundles name it)')
    .option('--environment <env>', 'environment of the host (default: default)')
    .option('--principal <names>', 'host names the host certificate may carry (default: the name)', collect, [])
    .action(async (name: string, o: { environment?: string; principal: string[] }) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.addHost({ name, environment: o.environment, principals: list(o.principal) }, ctx.actor);
      ctx.output(
        (await ctx.contract()).toSshHostDto(row, o.environment ?? 'default'),
        () => `added host ${row.name} (${row.principals.join(', ')})`,
      );
    });
  host
    .command('list')
    .description('list registered hosts')
    .option('--environment <env>', 'only the hosts of this environment')
    .action(async (o: { environment?: string }) => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.hosts(a.ssh, o.environment);
      ctx.output(page, () => sshHostsTable(page.items));
    });
  host
    .command('map')
    .description('let a principal log in as a local account on a host (AuthorizedPrincipalsFile)')
    .requiredOption('--host <name>', 'registered host')
    .requiredOption('--account <account>', 'local account on the host')
    .requiredOption('--principal <principal>', 'principal that may log in as the account')
    .option('--environment <env>', "the host's environment (default: default)")
    .action(async (o: { host: string; account: string; principal: string; environment?: string }) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.mapAccount(
        { host: o.host, account: o.account, principal: o.principal, environment: o.environment },
        ctx.actor,
      );
      ctx.output(
        (await ctx.contract()).toSshHostAccountDto(row, o.host),
        () => `${row.principal} → ${row.account} on ${o.host}`,
      );
    });
  host
    .command('bundle')
    .description('write the per-host deploy bundle (sshd drop-in, CA keys, principals files, KRL refresh)')
    .requiredOption('--host <name>', 'registered host')
    .option('--environment <env>', "the host's environment (default: default)")
    .option('--dir <dir>', 'install directory on the host', '/etc/ssh/pkim')
    .requiredOption('--out <dir>', 'local directory to write the files to')
    .action(async (o: { host: string; environment?: string; dir: string; out: string }) => {
      const a = await ctx.openAuthority();
      const b = await a.ssh.hostBundle(
        { host: o.host, environment: o.environment, dir: o.dir, publicBaseUrl: ctx.config().publicUrl },
        ctx.actor,
      );
      for (const [name, content] of Object.entries(b.files)) {
        const path = join(o.out, name);
        mkdirSync(dirname(path), { recursive: true });
        writeOutputFile(path, content, name.endsWith('.sh') ? 0o755 : 0o644);
      }
      const k = await a.ssh.hostKrl(b.environment, b.host.name);
      writeOutputFile(join(o.out, 'revoked.krl'), k.krl);
      ctx.output(
        { host: b.host.name, environment: b.environment, dir: b.dir, krlUrl: b.krlUrl, files: Object.keys(b.files) },
        () => `wrote ${Object.keys(b.files).length + 1} files to ${o.out}`,
      );
    });

  const user = ssh.command('user').description('SSH users registry');
  user
    .command('add <name>')
    .description('register an SSH user (ssh sign --user: granted principals only, blocks apply)')
    .action(async (name: string) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.addUser({ name }, ctx.actor);
      ctx.output((await ctx.contract()).toSshUserDto(row), () => `added SSH user ${row.name}`);
    });
  user
    .command('list')
    .description('list SSH users')
    .action(async () => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.users(a.ssh);
      ctx.output(page, () => sshUsersTable(page.items));
    });
  for (const [cmd, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(`${cmd} <name>`)
      .description(disabled ? 'disable an SSH user: ssh sign --user refuses them' : 'enable a disabled SSH user')
      .action(async (name: string) => {
        const a = await ctx.openAuthority();
        const row = await a.ssh.setUserDisabled(name, disabled, ctx.actor);
        ctx.output(
          { id: row.id, name: row.name, disabled: row.disabled },
          () => `${row.name} ${disabled ? 'disabled' : 'enabled'}`,
        );
      });
  }

  const principal = ssh.command('principal').description('principals catalogue and grants');
  principal
    .command('add <name>')
    .description('add a principal to the catalogue')
    .option('--description <text>', 'what the principal may do')
    .action(async (name: string, o: { description?: string }) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.addPrincipal({ name, description: o.description }, ctx.actor);
      ctx.output((await ctx.contract()).toSshPrincipalDto(row), () => `added principal ${row.name}`);
    });
  principal
    .command('list')
    .description('list principals')
    .action(async () => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.principals(a.ssh);
      ctx.output(page, () => sshPrincipalsTable(page.items));
    });
  principal
    .command('grant')
    .description('grant a principal to an SSH user')
    .requiredOption('--user <name>', 'registered SSH user')
    .requiredOption('--principal <name>', 'principal of the catalogue')
    .action(async (o: { user: string; principal: string }) => {
      const a = await ctx.openAuthority();
      await a.ssh.grant({ user: o.user, principal: o.principal }, ctx.actor);
      ctx.output({ user: o.user, principal: o.principal }, () => `granted ${o.principal} to ${o.user}`);
    });
  principal
    .command('ungrant')
    .description('remove a principal from an SSH user')
    .requiredOption('--user <name>', 'registered SSH user')
    .requiredOption('--principal <name>', 'principal granted to the user')
    .action(async (o: { user: string; principal: string }) => {
      const a = await ctx.openAuthority();
      await a.ssh.ungrant({ user: o.user, principal: o.principal }, ctx.actor);
      ctx.output({ user: o.user, principal: o.principal }, () => `removed ${o.principal} from ${o.user}`);
    });

  ssh
    .command('block')
    .description('block an SSH user on a host (or fleet-wide): refused at issuance and listed in host KRLs')
    .requiredOption('--user <name>', 'registered SSH user')
    .option('--host <name>', 'omit for fleet-wide')
    .option('--environment <env>', "the host's environment (default: default)")
    .option('--reason <text>', 'why, kept with the block')
    .action(async (o: { user: string; host?: string; environment?: string; reason?: string }) => {
      const a = await ctx.openAuthority();
      const row = await a.ssh.block(
        { user: o.user, host: o.host, environment: o.environment, reason: o.reason },
        ctx.actor,
      );
      const names = { user: o.user, host: o.host ?? null, environment: o.host ? (o.environment ?? 'default') : null };
      ctx.output(
        (await ctx.contract()).toSshBlockDto(row, names),
        () => `blocked ${o.user} ${o.host ? `on ${o.host}` : 'fleet-wide'} (${row.id})`,
      );
    });
  ssh
    .command('unblock <id>')
    .description('remove a block (its id: ssh blocks)')
    .action(async (id: string) => {
      const a = await ctx.openAuthority();
      await a.ssh.unblock(id, ctx.actor);
      ctx.output({ id }, () => `removed block ${id}`);
    });
  ssh
    .command('blocks')
    .description('list blocks')
    .action(async () => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.blocks(a.ssh);
      ctx.output(page, () => sshBlocksTable(page.items));
    });

  const fleet = ssh.command('fleet-token').description('fleet tokens (host bootstrap over HTTP)');
  fleet
    .command('create')
    .description('create a fleet token (printed once)')
    .requiredOption('--name <name>', 'token name')
    .option('--environment <env>', 'environment its hosts belong to (default: default)')
    .option('--operations <ops>', 'sign-host,sign-user', 'sign-host')
    .option('--rate <n>', 'requests per minute', intOption)
    .option('--expires-in <duration>', 'e.g. 30d', durationOption)
    .action(
      async (o: { name: string; environment?: string; operations: string; rate?: number; expiresIn?: number }) => {
        const a = await ctx.openAuthority();
        const r = await a.ssh.createFleetToken(
          {
            name: o.name,
            environment: o.environment,
            operations: list(o.operations) as SshFleetOperation[],
            ratePerMinute: o.rate,
            expiresInMs: o.expiresIn,
          },
          ctx.actor,
        );
        ctx.output(
          { token: r.token, ...(await ctx.contract()).toSshFleetTokenDto(r.row, o.environment ?? 'default') },
          () => `${r.token}\n(shown once: store it now)`,
        );
      },
    );
  fleet
    .command('list')
    .description('list fleet tokens')
    .action(async () => {
      const a = await ctx.openAuthority();
      const page = await (await ctx.contract()).sshLists.fleetTokens(a.ssh);
      ctx.output(page, () => sshFleetTokensTable(page.items));
    });
  fleet
    .command('revoke <id>')
    .description('revoke a fleet token')
    .action(async (id: string) => {
      const a = await ctx.openAuthority();
      await a.ssh.revokeFleetToken(id, ctx.actor);
      ctx.output({ id }, () => `revoked fleet token ${id}`);
    });
}
