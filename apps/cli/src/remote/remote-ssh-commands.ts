// Remote forms of `pkim ssh …`: the SSH CA, certificates and registry through their REST twins (ssh.*). The `--json`
// output is the procedure's answer (the contract's SSH objects, ssh-schemas.ts). Files a command writes (a signed
// `-cert.pub`, a host's deploy bundle) are written here from the answer, as the local command writes them.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PkiError } from '@pkim/shared';
import { readInputFile } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { callRemote, fetchPublic } from './remote-client';
import {
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
} from '../format';
import { duration, printTable } from './remote-commands';
import type { Dto, Opts, RemoteCommand } from './remote-commands';

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** `a,b` and repeated values → one list (as the local command reads `--principal`) */
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

async function signInput(o: Opts) {
  const { signOptions } = await import('../commands/ssh-command');
  const { critical, extensions } = signOptions(o as Parameters<typeof signOptions>[0]);
  return {
    ca: o.ca,
    publicKey: readInputFile(o.publicKey as string, 'public key'),
    type: o.host ? 'host' : 'user',
    principals: list(o.principal),
    ttl: duration(o.ttl),
    keyId: o.keyId,
    user: o.user,
    host: o.onHost,
    criticalOptions: critical,
    extensions,
  };
}

const say =
  (line: (out: Dto, o: Opts, args: string[]) => string) =>
  (ctx: Parameters<NonNullable<RemoteCommand['print']>>[0], out: Dto, o: Opts, args: string[]) =>
    ctx.output(out, () => line(out, o, args));

export const SSH_REMOTE_COMMANDS: Readonly<Record<string, RemoteCommand>> = {
  'ssh ca create': {
    procedure: 'ssh.createCa',
    input(_args, o) {
      if (o.backend !== undefined && o.backend !== 'software')
        throw new PkiError('remote.unsupported', 'ssh ca create --backend: the server chooses its key backend');
      return {
        name: o.name,
        type: o.type,
        keyType: o.keyType,
        environment: o.environment,
        maxTtl: duration(o.maxTtl),
        defaultTtl: duration(o.defaultTtl),
      };
    },
    print: say((out) => text(out.publicKey)),
  },
  'ssh ca list': {
    procedure: 'ssh.listCas',
    input: (_args, o) => ({ environment: o.environment }),
    print: printTable(sshCasTable),
  },
  'ssh ca show': {
    procedure: 'ssh.listCas',
    input: () => undefined,
    print(ctx, out, _o, [ref]) {
      const ca = (out.items as Dto[]).find((c) => c.id === ref || c.name === ref);
      if (!ca) throw new PkiError('ssh.ca_not_found', `no SSH CA '${text(ref)}'`);
      ctx.output(ca, () => sshCaText(ca));
    },
  },
  'ssh ca rotate': {
    procedure: 'ssh.rotateCa',
    input: (_args, o) => ({ type: o.type, environment: o.environment, name: o.name, keyType: o.keyType }),
    print: say((out) => `created ${text((out.created as Dto).name)} (active); rotating: ${text(out.rotating)}`),
  },
  'ssh ca retire': {
    procedure: 'ssh.retireExpiredCas',
    input: () => ({}),
    print: say((out) => `retired: ${(out.retired as string[]).join(', ') || '(none)'}`),
  },
  'ssh sign': {
    procedure: 'ssh.issue',
    input: (_args, o) => signInput(o),
    print(ctx, out, o) {
      const path = typeof o.out === 'string' ? o.out : null;
      if (path) writeOutputFile(path, `${text(out.line)}\n`);
      ctx.output({ ...out, out: path }, () =>
        path ? `serial ${text(out.serial)} written to ${path}` : text(out.line),
      );
    },
  },
  'ssh list': {
    procedure: 'ssh.listCertificates',
    input: (_args, o) => ({ ca: o.ca, status: o.status, limit: o.limit, cursor: o.cursor }),
    print: printTable(sshCertificatesTable),
  },
  'ssh revoke': {
    procedure: 'ssh.revoke',
    input: ([serial], o) => ({
      ca: o.ca,
      serial,
      keyId: o.keyId,
      publicKey: typeof o.publicKey === 'string' ? readInputFile(o.publicKey, 'public key') : undefined,
      reason: o.reason,
    }),
    print: say((out) => `revoked ${(out.revoked as string[]).join(', ')} (KRL version ${text(out.krlVersion)})`),
  },
  'ssh krl': {
    // not called: the KRL comes from the route the server publishes for sshd hosts, which needs no token
    procedure: 'ssh.krlStatus',
    input: () => undefined,
    async direct(ctx, o, target) {
      if (!o.ca === !o.host) throw new PkiError('input.invalid', 'give either --ca or --host');
      const path = o.ca
        ? `/ssh/krl/ca/${encodeURIComponent(text(o.ca))}`
        : `/ssh/krl/${encodeURIComponent(text(o.environment ?? 'default'))}/hosts/${encodeURIComponent(text(o.host))}`;
      const { bytes, headers } = await fetchPublic(target, path);
      const etag = headers.etag ?? '';
      // the ETag is "<scope kind>-<id>-v<version>" (ssh-service.ts krlOf)
      const m = /^"(ca|host)-(.+)-v(\d+)"$/.exec(etag);
      const modified = Date.parse(headers['last-modified'] ?? '');
      if (!m || Number.isNaN(modified))
        throw new PkiError('remote.bad_response', `the server's KRL answer has no ETag or Last-Modified (${path})`);
      writeOutputFile(text(o.out), bytes);
      const out = {
        scope: `${m[1]!}:${m[2]!}`,
        version: Number(m[3]),
        etag,
        generatedAt: new Date(modified).toISOString(),
        out: o.out,
      };
      ctx.output(out, () => `KRL ${out.scope} version ${out.version} written to ${text(o.out)}`);
      return true;
    },
  },
  'ssh trust': {
    procedure: 'ssh.trust',
    input(_args, o) {
      sshTrustFile(o, false); // --user with --host: before the call (with --json: when printing)
      return { environment: o.environment };
    },
    print: (ctx, t, o) => printSshTrust(ctx, t, { userCaKeys: text(t.userCaKeys), knownHosts: text(t.knownHosts) }, o),
  },
  'ssh env create': {
    procedure: 'ssh.createEnvironment',
    input: ([name], o) => ({ name, description: o.description }),
    print: say((out) => `created environment ${text(out.name)}`),
  },
  'ssh env list': {
    procedure: 'ssh.listEnvironments',
    input: () => undefined,
    print: printTable(sshEnvironmentsTable),
  },
  'ssh host add': {
    procedure: 'ssh.addHost',
    input: ([name], o) => ({ name, environment: o.environment, principals: list(o.principal) }),
    print: say((out) => `added host ${text(out.name)} (${(out.principals as string[]).join(', ')})`),
  },
  'ssh host list': {
    procedure: 'ssh.listHosts',
    input: (_args, o) => ({ environment: o.environment }),
    print: printTable(sshHostsTable),
  },
  'ssh host map': {
    procedure: 'ssh.mapAccount',
    input: (_args, o) => ({ host: o.host, account: o.account, principal: o.principal, environment: o.environment }),
    print: say((out) => `${text(out.principal)} → ${text(out.account)} on ${text(out.host)}`),
  },
  'ssh host bundle': {
    procedure: 'ssh.hostBundle',
    input: (_args, o) => ({ host: o.host, environment: o.environment, dir: o.dir }),
    // the bundle, then its revoked.krl from the route sshd hosts refresh it from (as the local command writes it)
    async direct(ctx, o, target) {
      const input = { host: o.host, environment: o.environment, dir: o.dir };
      const out = (await callRemote(target, 'ssh.hostBundle', input)) as Dto;
      const path = `/ssh/krl/${encodeURIComponent(text(out.environment))}/hosts/${encodeURIComponent(text(out.host))}`;
      const { bytes: krl } = await fetchPublic(target, path);
      const dir = o.out as string;
      const files = out.files as Record<string, string>;
      for (const [name, content] of Object.entries(files)) {
        const file = join(dir, name);
        mkdirSync(dirname(file), { recursive: true });
        writeOutputFile(file, content, name.endsWith('.sh') ? 0o755 : 0o644);
      }
      writeOutputFile(join(dir, 'revoked.krl'), krl);
      ctx.output(
        { host: out.host, environment: out.environment, dir: out.dir, krlUrl: out.krlUrl, files: Object.keys(files) },
        () => `wrote ${Object.keys(files).length + 1} files to ${dir}`,
      );
      return true;
    },
  },
  'ssh user add': {
    procedure: 'ssh.addUser',
    input: ([name]) => ({ name }),
    print: say((out) => `added SSH user ${text(out.name)}`),
  },
  'ssh user list': {
    procedure: 'ssh.listUsers',
    input: () => undefined,
    print: printTable(sshUsersTable),
  },
  'ssh user disable': {
    procedure: 'ssh.setUserDisabled',
    input: ([name]) => ({ name, disabled: true }),
    async print(ctx, _out, _o, [name], call) {
      const users = (await call('ssh.listUsers')).items as Dto[];
      const id = users.find((u) => u.name === name)?.id;
      ctx.output({ id, name, disabled: true }, () => `${text(name)} disabled`);
    },
  },
  'ssh user enable': {
    procedure: 'ssh.setUserDisabled',
    input: ([name]) => ({ name, disabled: false }),
    async print(ctx, _out, _o, [name], call) {
      const users = (await call('ssh.listUsers')).items as Dto[];
      const id = users.find((u) => u.name === name)?.id;
      ctx.output({ id, name, disabled: false }, () => `${text(name)} enabled`);
    },
  },
  'ssh principal add': {
    procedure: 'ssh.addPrincipal',
    input: ([name], o) => ({ name, description: o.description }),
    print: say((out) => `added principal ${text(out.name)}`),
  },
  'ssh principal list': {
    procedure: 'ssh.listPrincipals',
    input: () => undefined,
    print: printTable(sshPrincipalsTable),
  },
  'ssh principal grant': {
    procedure: 'ssh.grant',
    input: (_args, o) => ({ user: o.user, principal: o.principal }),
    print: (ctx, _out, o) =>
      ctx.output({ user: o.user, principal: o.principal }, () => `granted ${text(o.principal)} to ${text(o.user)}`),
  },
  'ssh principal ungrant': {
    procedure: 'ssh.ungrant',
    input: (_args, o) => ({ user: o.user, principal: o.principal }),
    print: (ctx, _out, o) =>
      ctx.output({ user: o.user, principal: o.principal }, () => `removed ${text(o.principal)} from ${text(o.user)}`),
  },
  'ssh block': {
    procedure: 'ssh.block',
    input: (_args, o) => ({ user: o.user, host: o.host, environment: o.environment, reason: o.reason }),
    print: say((out, o) => `blocked ${text(o.user)} ${o.host ? `on ${text(o.host)}` : 'fleet-wide'} (${text(out.id)})`),
  },
  'ssh unblock': {
    procedure: 'ssh.unblock',
    input: ([id]) => ({ id }),
    print: (ctx, _out, _o, [id]) => ctx.output({ id }, () => `removed block ${text(id)}`),
  },
  'ssh blocks': {
    procedure: 'ssh.listBlocks',
    input: () => undefined,
    print: printTable(sshBlocksTable),
  },
  'ssh fleet-token create': {
    procedure: 'ssh.createFleetToken',
    input: (_args, o) => ({
      name: o.name,
      environment: o.environment,
      operations: list(o.operations),
      ratePerMinute: o.rate,
      expiresIn: duration(o.expiresIn),
    }),
    print: (ctx, out) =>
      ctx.output({ token: out.token, ...out }, () => `${text(out.token)}\n(shown once: store it now)`),
  },
  'ssh fleet-token list': {
    procedure: 'ssh.fleetTokens',
    input: () => undefined,
    print: printTable(sshFleetTokensTable),
  },
  'ssh fleet-token revoke': {
    procedure: 'ssh.revokeFleetToken',
    input: ([id]) => ({ id }),
    print: (ctx, _out, _o, [id]) => ctx.output({ id }, () => `revoked fleet token ${text(id)}`),
  },
};
