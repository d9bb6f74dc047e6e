// Remote forms of the administration commands: CAs (status, URLs, revoke, delete, truststore), certificates (export,
// renew), requests, profiles, API tokens, users, notification rules, Vault mounts, SPIFFE and ACME. Each is the
// procedure of its REST twin; the `--json` output is what the local command prints (reshaped from the procedure's
// answer where the local command prints a narrower object), so scripts see one shape in both modes.
import { basename } from 'node:path';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { assertNoKeyOutWithCsr, parseSans, readInputFile, readProfileFile } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import {
  acmeAccountsTable,
  acmeDirectoriesTable,
  acmeEabKeysTable,
  acmeEnabledText,
  keyValues,
  notificationDeliveriesTable,
  notificationRulesTable,
  profilesTable,
  spiffeDeniedTable,
  spiffeStatusText,
  svidsTable,
  tokensTable,
  usersTable,
  vaultMountedLine,
  vaultMountsTable,
  type TokenLine,
  type UserLine,
} from '../format';
import type {
  AcmeDirectoryDto,
  CaDeleteOutputDto,
  CaRotateOutputDto,
  CaViewDto,
  ProfileSummaryDto,
  VaultMountDto,
} from '@pkim/contract';
import { checkedDefaultExportPath, checkedDefaultTruststorePath, readPasswordFile } from '../export-output';
import {
  caDeletedText,
  caRenewedText,
  caRotatedText,
  crossRevokedText,
  leafNotAfterText,
  profileText,
  writeCaFiles,
} from '../command-outputs';
import { fetchPublic } from './remote-client';
import { duration, ms, printTable, str, subjectOf, ttl } from './remote-commands';
import type { Dto, Opts, RemoteCall, RemoteCommand } from './remote-commands';

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** prints `json` (what the local command prints) with a one-line human rendering */
const say = (ctx: CliContext, json: unknown, line: string): void => ctx.output(json, () => line);

/** an export answer (`{ fileName, mediaType, contentBase64, … }`) written as the local command writes it */
function writeExportFile(ctx: CliContext, f: Dto, o: Opts): void {
  const body = Buffer.from(String(f.contentBase64), 'base64');
  // the server's suggested name, never a path of its choosing
  const path = typeof o.out === 'string' ? o.out : basename(String(f.fileName));
  const key = f.containsPrivateKey === true;
  writeOutputFile(path, body, key ? 0o600 : 0o644);
  if (typeof f.warning === 'string') ctx.io.stderr.write(`warning: ${f.warning}\n`);
  ctx.output(
    {
      file: path,
      fileName: f.fileName,
      mediaType: f.mediaType,
      bytes: body.length,
      containsPrivateKey: key,
      ...(typeof f.warning === 'string' ? { warning: f.warning } : {}),
    },
    () => `written: ${path} (${text(f.mediaType)}, ${body.length} bytes${key ? ', PRIVATE KEY' : ''})`,
  );
}

/** a user by id or name (the REST twins take ids, the commands take either) */
async function userNamed(call: RemoteCall, ref: string): Promise<{ id: string; username: string }> {
  const page = await call('user.list');
  const u = (page.items as { id: string; username: string }[]).find((x) => x.id === ref || x.username === ref);
  if (!u) throw new PkiError('user.not_found', `no user '${ref}'`);
  return u;
}

/** a CA's id from its id or name (the twins that change a CA take its id, the commands either) */
async function caIdOf(call: RemoteCall, ref: string | undefined): Promise<string> {
  return String((await call('ca.get', { ref })).id);
}

/** an option's string, or undefined */
const optional = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** the API's objects → the lines the local tables print (format.ts), so both modes print the same table */
const tokenLine = (t: Dto): TokenLine => ({
  id: str(t.id),
  name: str(t.name),
  role: str(t.role),
  scopes: strings(t.scopes),
  expiresAt: ms(t.expiresAt),
  lastUsedAt: ms(t.lastUsedAt),
  revokedAt: ms(t.revokedAt),
});
const userLine = (u: Dto): UserLine => ({
  id: str(u.id),
  username: str(u.username),
  role: str(u.role),
  disabled: u.disabled === true,
  lockedUntil: ms(u.lockedUntil),
  lockedAddresses: Number(u.lockedAddresses ?? 0),
  mustChangePassword: u.mustChangePassword === true,
  createdAt: ms(u.createdAt) ?? 0,
});

const split = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

export const ADMIN_REMOTE_COMMANDS: Readonly<Record<string, RemoteCommand>> = {
  // ── CAs ──────────────────────────────────────────────────────────────────────────────────────────────────────
  'ca disable': {
    procedure: 'ca.setStatus',
    input: async ([ref], _o, call) => ({ id: await caIdOf(call, ref), status: 'disabled' }),
    print: (ctx, out) => say(ctx, out, `CA ${text(out.name)} (${text(out.id)}) is now ${text(out.status)}`),
  },
  'ca enable': {
    procedure: 'ca.setStatus',
    input: async ([ref], _o, call) => ({ id: await caIdOf(call, ref), status: 'active' }),
    print: (ctx, out) => say(ctx, out, `CA ${text(out.name)} (${text(out.id)}) is now ${text(out.status)}`),
  },
  'ca rename': {
    procedure: 'ca.rename',
    input: ([ref, name]) => ({ ref, name }),
    print: (ctx, out) => say(ctx, out, `CA ${text(out.id)} is now named ${text(out.name)}`),
  },
  'ca set-leaf-not-after': {
    procedure: 'ca.setLeafNotAfterBehavior',
    input: ([ref, behavior]) => ({ ref, behavior }),
    print: (ctx, out) => say(ctx, out, leafNotAfterText(text(out.name), text(out.id), text(out.leafNotAfterBehavior))),
  },
  'ca set-urls': {
    procedure: 'ca.setUrls',
    input([ref], o) {
      if (o.clear && (o.base || o.crl || o.ocsp || o.aia))
        throw new PkiError('input.invalid', '--clear excludes --base, --crl, --ocsp and --aia');
      return {
        ref,
        base: o.base,
        crlDistributionPoints: o.crl,
        ocspUrls: o.ocsp,
        caIssuersUrls: o.aia,
        clear: o.clear,
      };
    },
    print(ctx, out) {
      const urls = out.urls as { crlDistributionPoints: string[]; ocspUrls: string[]; caIssuersUrls: string[] } | null;
      ctx.output(out, () =>
        urls
          ? keyValues([
              ['CA', `${text(out.name)} (${text(out.id)})`],
              ['CRL', urls.crlDistributionPoints.join(' ')],
              ['OCSP', urls.ocspUrls.join(' ')],
              ['CA issuers', urls.caIssuersUrls.join(' ')],
            ])
          : `CA ${text(out.name)} (${text(out.id)}): URLs removed`,
      );
    },
  },
  'ca revoke': {
    procedure: 'ca.revoke',
    input: async ([ref], o, call) => ({ id: await caIdOf(call, ref), reason: o.reason }),
    print(ctx, out, o) {
      const ca = out.ca as Dto;
      say(
        ctx,
        { ca, revokedCertificates: out.revokedCertificates, revokedCas: out.revokedCas },
        `CA ${text(ca.name)} (${text(ca.id)}) revoked (${text(o.reason)}); also revoked ` +
          `${text(out.revokedCertificates)} certificate(s) and ${text(out.revokedCas)} subordinate CA(s)`,
      );
    },
  },
  'ca revoke-cross': {
    procedure: 'ca.revokeCross',
    input: ([ref], o) => ({ ref, reason: o.reason }),
    print(ctx, out) {
      ctx.output(out, () => crossRevokedText(out as CaViewDto));
    },
  },
  'ca renew': {
    procedure: 'ca.renew',
    input: ([ref], o) => ({ ref, ttl: ttl(o.validity) }),
    print(ctx, out, o) {
      writeCaFiles(out as CaViewDto, optional(o.out));
      ctx.output(out, () => caRenewedText(out as CaViewDto, optional(o.out)));
    },
  },
  'ca rotate': {
    procedure: 'ca.rotate',
    input: async ([ref], o) => ({
      ref,
      name: o.name,
      subject: typeof o.subject === 'string' ? await subjectOf(o.subject) : undefined,
      keyType: o.keyType,
      backend: o.backend,
      ttl: ttl(o.validity),
      disableOld: o.disableOld === true ? true : undefined,
    }),
    print(ctx, out, o) {
      writeCaFiles(out as CaRotateOutputDto, optional(o.out), optional(o.crossOut));
      ctx.output(out, () => caRotatedText(out as CaRotateOutputDto, optional(o.out), optional(o.crossOut)));
    },
  },
  'ca delete': {
    procedure: 'ca.delete',
    input: async ([ref], o, call) => ({ id: await caIdOf(call, ref), destroyKey: !!o.destroyKey }),
    print: (ctx, out, o, [ref]) => {
      const keyDestroyed = out.keyDestroyed === true;
      const keyInUseBy = (out as CaDeleteOutputDto).keyInUseBy;
      say(
        ctx,
        { deleted: ref, keyDestroyed, ...(keyInUseBy && { keyInUseBy }) },
        caDeletedText(text(ref), !!o.destroyKey, keyDestroyed, keyInUseBy),
      );
    },
  },
  'ca truststore': {
    procedure: 'exports.truststore',
    input: async ([ca], o, call) => {
      // without --out: the suggested name, checked before the export (as locally)
      if (o.out === undefined) {
        const c = await call('ca.get', { ref: ca });
        o.out = checkedDefaultTruststorePath(o as { format: string; force?: boolean }, {
          id: String(c.id),
          name: String(c.name),
        });
      }
      return {
        ca,
        format: o.format,
        password: readPasswordFile(o.passwordFile as string | undefined),
        legacy: o.legacy,
      };
    },
    print: writeExportFile,
  },
  // ── certificates ─────────────────────────────────────────────────────────────────────────────────────────────
  'cert export': {
    procedure: 'exports.certificate',
    input: async ([ref], o, call) => {
      if (o.out === undefined) {
        const c = await call('certificate.get', { ref });
        const cert = { commonName: typeof c.commonName === 'string' ? c.commonName : null, serial: String(c.serial) };
        o.out = checkedDefaultExportPath(o as Parameters<typeof checkedDefaultExportPath>[0], cert);
      }
      return {
        ref,
        format: o.format,
        password: readPasswordFile(o.passwordFile as string | undefined),
        legacy: o.legacy,
        includeRoot: o.root,
        includeKey: o.key,
      };
    },
    print: writeExportFile,
  },
  'cert renew': {
    procedure: 'renewal.renew',
    input: ([ref], o) => {
      assertNoKeyOutWithCsr(o);
      return {
        ref,
        ttl: ttl(o.validity ?? o.ttl),
        sans: parseSans(o.san as string[] | undefined),
        revokeOld: o.revokeOld,
        csrPem: typeof o.csr === 'string' ? readInputFile(o.csr, 'CSR') : undefined,
        reuseKey: o.reuseKey,
        keyType: o.keyType,
        keepKey: o.keepKey,
      };
    },
    print(ctx, out, o) {
      if (typeof o.outCert === 'string') writeOutputFile(o.outCert, String(out.certificatePem));
      if (typeof o.outKey === 'string' && typeof out.privateKeyPem === 'string')
        writeOutputFile(o.outKey, out.privateKeyPem, 0o600);
      const prev = out.previous as Dto;
      const cert = out.certificate as Dto;
      ctx.output(
        o.outKey ? { ...out, privateKeyPem: undefined } : out,
        () =>
          `renewed ${text(prev.serial)} → ${text(cert.serial)} (${text(cert.id)})` +
          (out.previousRevoked ? `; ${text(prev.serial)} revoked (superseded)` : ''),
      );
    },
  },
  // ── requests ─────────────────────────────────────────────────────────────────────────────────────────────────
  'request submit': {
    procedure: 'request.submit',
    input: (_args, o) => ({
      ca: o.ca,
      csr: readInputFile(o.csr as string, 'CSR'),
      profile: o.profile,
      ttl: ttl(o.ttl ?? o.validity),
    }),
  },
  'request certificate': {
    procedure: 'request.certificate',
    input: ([id]) => ({ id }),
    print(ctx, out, o) {
      const outCert = o.outCert as string | undefined;
      const outChain = o.outChain as string | undefined;
      if (outCert) writeOutputFile(outCert, String(out.certificatePem));
      if (outChain) writeOutputFile(outChain, String(out.chainPem));
      ctx.output(out, () =>
        outCert || outChain
          ? `written: ${[outCert, outChain].filter(Boolean).join(', ')}`
          : `${String(out.certificatePem).trim()}\n${String(out.chainPem)}`,
      );
    },
  },
  'request approve': {
    procedure: 'request.approve',
    input: ([id]) => ({ id }),
    print(ctx, out, o) {
      const c = out.certificate as Dto;
      if (typeof o.out === 'string') writeOutputFile(o.out, String(c.certificatePem));
      const req = out.request as Dto;
      say(
        ctx,
        out,
        `request ${text(req.id)} approved; certificate ${text(c.id)} serial ${text(c.serial)}` +
          (typeof o.out === 'string' ? ` written to ${o.out}` : ''),
      );
    },
  },
  'request reject': {
    procedure: 'request.reject',
    input: ([id], o) => ({ id, reason: o.reason }),
    print: (ctx, out) => say(ctx, out, `request ${text(out.id)} rejected: ${text(out.reason)}`),
  },
  // ── profiles ─────────────────────────────────────────────────────────────────────────────────────────────────
  'profile list': {
    procedure: 'insights.profiles',
    input: () => undefined,
    print: printTable(profilesTable),
  },
  'profile show': {
    procedure: 'insights.profiles',
    input: () => undefined,
    print(ctx, out, _o, [name]) {
      const p = (out.items as ProfileSummaryDto[]).find((x) => x.name === name);
      if (!p) throw new PkiError('profile.not_found', `no profile '${text(name)}' (see pkim profile list)`);
      ctx.output(p, () => profileText(p));
    },
  },
  'profile create': {
    procedure: 'profiles.create',
    input: (_args, o) => readProfileFile(o.file as string),
    print: (ctx, out) => say(ctx, out, `profile ${text(out.name)} created`),
  },
  'profile update': {
    procedure: 'profiles.update',
    input: ([name], o) => ({ ...readProfileFile(o.file as string), profile: name }),
    print: (ctx, out) => say(ctx, out, `profile ${text(out.name)} updated`),
  },
  'profile delete': {
    procedure: 'profiles.delete',
    input: ([name]) => ({ name }),
    print: (ctx, _out, _o, [name]) => say(ctx, { name, deleted: true }, `profile ${text(name)} deleted`),
  },
  // ── API tokens ───────────────────────────────────────────────────────────────────────────────────────────────
  'token create': {
    procedure: 'token.create',
    async input(_args, o) {
      const { leastRoleFor, tokenResources } = await import('../commands/token-command');
      const role = (o.role as string | undefined) ?? leastRoleFor(o.scope as string[] | undefined);
      o.role = role;
      return {
        name: o.name,
        role,
        scopes: o.scope,
        resources: tokenResources(o),
        expiresIn: o.expires === null ? 'never' : duration(o.expires),
      };
    },
    print: (ctx, out, o) =>
      say(
        ctx,
        { id: out.id, token: out.token, role: o.role, expiresAt: out.expiresAt },
        `token ${text(out.id)} created (${text(o.role)})\n${text(out.token)}\nstore it now: it is not shown again.`,
      ),
  },
  'token list': {
    procedure: 'token.list',
    input: () => undefined,
    print: printTable(tokensTable, tokenLine),
  },
  'token revoke': {
    procedure: 'token.revoke',
    input: ([id]) => ({ id }),
    print: (ctx, _out, _o, [id]) => say(ctx, { id, revoked: true }, `token ${text(id)} revoked`),
  },
  // ── users ────────────────────────────────────────────────────────────────────────────────────────────────────
  'user create': {
    procedure: 'user.create',
    async input([username], o) {
      const { passwordFrom } = await import('../commands/user-command');
      Object.assign(o, passwordFrom(o.passwordFile as string | undefined));
      return { username, password: o.password, role: o.role };
    },
    print: (ctx, out, o) =>
      say(
        ctx,
        { ...out, ...(o.generated ? { password: o.password } : {}) },
        `user ${text(out.username)} (${text(out.role)}) created: ${text(out.id)}` +
          (o.generated ? `\npassword (shown once): ${text(o.password)}` : ''),
      ),
  },
  'user list': {
    procedure: 'user.list',
    input: () => undefined,
    /** STATE: locked at the time here (the server's `lockedUntil`) */
    print: printTable((items: UserLine[]) => usersTable(items, Date.now()), userLine),
  },
  'user set-role': {
    procedure: 'user.setRole',
    async input([ref, role], o, call) {
      const { roleOption } = await import('../role-option');
      o.user = await userNamed(call, ref!);
      return { id: (o.user as Dto).id, role: roleOption(role!) };
    },
    print(ctx, _out, _o, [, role]) {
      const u = _o.user as Dto;
      say(ctx, { id: u.id, username: u.username, role }, `${text(u.username)} is now ${text(role)}`);
    },
  },
  'user unlock': {
    procedure: 'user.unlock',
    async input([ref], o, call) {
      o.user = await userNamed(call, ref!);
      return { id: (o.user as Dto).id };
    },
    print(ctx, out, o) {
      const u = o.user as Dto;
      const n = Number(out.cleared);
      say(
        ctx,
        { id: u.id, username: u.username, cleared: n },
        `${text(u.username)} unlocked (${n} failed-login counter${n === 1 ? '' : 's'} cleared)`,
      );
    },
  },
  'user disable': {
    procedure: 'user.disable',
    async input([ref], o, call) {
      o.user = await userNamed(call, ref!);
      return { id: (o.user as Dto).id, disabled: !o.enable };
    },
    print(ctx, _out, o) {
      const u = o.user as Dto;
      say(
        ctx,
        { id: u.id, username: u.username, disabled: !o.enable },
        `${text(u.username)} ${o.enable ? 'enabled' : 'disabled'}`,
      );
    },
  },
  'user reset-password': {
    procedure: 'user.changePassword',
    async input([ref], o, call) {
      const { passwordFrom } = await import('../commands/user-command');
      o.user = await userNamed(call, ref!);
      Object.assign(o, passwordFrom(o.passwordFile as string | undefined));
      return { id: (o.user as Dto).id, oldPassword: '', newPassword: o.password };
    },
    print(ctx, _out, o) {
      const u = o.user as Dto;
      say(
        ctx,
        { id: u.id, username: u.username, ...(o.generated ? { password: o.password } : {}) },
        `password of ${text(u.username)} reset` +
          (o.generated ? `\nnew password (shown once): ${text(o.password)}` : ''),
      );
    },
  },
  // ── notifications ────────────────────────────────────────────────────────────────────────────────────────────
  'notify rule add': {
    procedure: 'notification.createRule',
    input([name], o) {
      if (!!o.webhook === !!o.email) throw new PkiError('input.invalid', 'give exactly one of --webhook or --email');
      if (o.email && o.secretFile) throw new PkiError('input.invalid', '--secret-file belongs to --webhook');
      return {
        name,
        trigger: o.events ? 'events' : 'expiry',
        channel: o.webhook ? 'webhook' : 'email',
        target: o.webhook ?? o.email,
        daysBefore: o.days,
        events: o.events,
        ca: o.ca,
        profile: o.profile,
        namePattern: o.namePattern,
        secret: readPasswordFile(o.secretFile as string | undefined),
      };
    },
    print: (ctx, out, o) =>
      say(
        ctx,
        out,
        `rule ${text(out.name)} (${text(out.id)}) added → ${text(out.channel)} ${text(out.target)}` +
          (typeof out.secret === 'string' && !o.secretFile
            ? `\nwebhook secret (HMAC-SHA256 key):\n${out.secret}\nstore it now: it is not shown again.`
            : ''),
      ),
  },
  'notify rule list': {
    procedure: 'notification.listRules',
    input: () => undefined,
    print: printTable(notificationRulesTable),
  },
  'notify rule rotate-secret': {
    procedure: 'notification.rotateSecret',
    input: ([rule], o) => ({ rule, overlap: o.overlap, secret: readPasswordFile(o.secretFile as string | undefined) }),
    print: (ctx, out, o) =>
      say(
        ctx,
        out,
        `rule ${text(out.name)}: webhook secret rotated; ` +
          (out.secretOverlapUntil === null
            ? 'the old secret no longer signs'
            : `deliveries are signed under the old secret too until ${text(out.secretOverlapUntil)}`) +
          (o.secretFile ? '' : `\nnew webhook secret (HMAC-SHA256 key):\n${text(out.secret)}`),
      ),
  },
  'notify rule remove': {
    procedure: 'notification.removeRule',
    input: ([rule]) => ({ rule }),
    print: (ctx, _out, _o, [rule]) => say(ctx, { rule, removed: true }, `rule ${text(rule)} removed`),
  },
  'notify rule enable': {
    procedure: 'notification.setRuleEnabled',
    input: ([rule]) => ({ rule, enabled: true }),
    print: (ctx, out) => say(ctx, out, `rule ${text(out.name)} enabled`),
  },
  'notify rule disable': {
    procedure: 'notification.setRuleEnabled',
    input: ([rule]) => ({ rule, enabled: false }),
    print: (ctx, out) => say(ctx, out, `rule ${text(out.name)} disabled`),
  },
  'notify deliveries': {
    procedure: 'notification.listDeliveries',
    input: (_args, o) => ({ rule: o.rule, status: o.status, limit: o.limit, cursor: o.cursor }),
    print: printTable(notificationDeliveriesTable),
  },
  // ── Vault PKI mounts ─────────────────────────────────────────────────────────────────────────────────────────
  'vault mount': {
    procedure: 'vault.mounts.bind',
    input: ([path], o) => ({
      path,
      ca: o.ca,
      description: o.description,
      defaultLeaseTtl: o.defaultTtl,
      maxLeaseTtl: o.maxTtl,
    }),
    print: (ctx, out) => say(ctx, out, vaultMountedLine(out as unknown as VaultMountDto)),
  },
  'vault unmount': {
    procedure: 'vault.mounts.unbind',
    input: ([path]) => ({ path }),
    print: (ctx, _out, _o, [path]) => say(ctx, { path, unmounted: true }, `unmounted ${text(path)}/`),
  },
  'vault mounts': {
    procedure: 'vault.mounts.list',
    input: () => undefined,
    print: (ctx, out) => ctx.output(out, () => vaultMountsTable((out as unknown as { items: VaultMountDto[] }).items)),
  },
  // ── SPIFFE ───────────────────────────────────────────────────────────────────────────────────────────────────
  'spiffe init': {
    procedure: 'spiffe.init',
    input: (_args, o) => ({ trustDomain: o.trustDomain }),
    print: (ctx, out) =>
      say(ctx, out, `SPIFFE trust domain ${text(out.trustDomain)}: created ${text(out.created)} CA(s)`),
  },
  'spiffe status': {
    procedure: 'spiffe.status',
    input: () => undefined,
    print: (ctx, out) =>
      ctx.output(out, () => spiffeStatusText(out as unknown as Parameters<typeof spiffeStatusText>[0])),
  },
  'spiffe bundle': {
    // not called: the bundle comes from the route the server publishes for workloads, which needs no token
    procedure: 'spiffe.status',
    input: () => undefined,
    async direct(ctx, _o, target) {
      const { bytes } = await fetchPublic(target, '/pki/ca/bundle');
      let bundle: unknown;
      try {
        bundle = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new PkiError('remote.bad_response', 'the server answered /pki/ca/bundle with something other than JSON');
      }
      ctx.output(bundle, () => JSON.stringify(bundle, null, 2));
      return true;
    },
  },
  'spiffe list': {
    procedure: 'spiffe.list',
    input: (_args, o) => ({ spiffeId: o.spiffeId, current: o.current, limit: 500 }),
    print: printTable(svidsTable),
  },
  'spiffe deny': {
    procedure: 'spiffe.deny',
    input: ([spiffeId], o) => ({ spiffeId, reason: o.reason }),
    print: (ctx, out) => say(ctx, out, `${text(out.spiffeId)} denied`),
  },
  'spiffe allow': {
    procedure: 'spiffe.allow',
    input: ([spiffeId]) => ({ spiffeId }),
    print: (ctx, out) =>
      say(ctx, out, out.wasDenied ? `${text(out.spiffeId)} allowed again` : `${text(out.spiffeId)} was not denied`),
  },
  'spiffe denied': {
    procedure: 'spiffe.denied',
    input: () => undefined,
    print: printTable(spiffeDeniedTable),
  },
  'spiffe rotate': {
    procedure: 'spiffe.rotate',
    input([role]) {
      if (role !== 'services' && role !== 'transport')
        throw new PkiError('input.invalid', `rotate services or transport, not '${text(role)}'`);
      return { role };
    },
    print: (ctx, out) =>
      say(
        ctx,
        out,
        `CA rotated: ${text(out.oldCaId)} → ${text(out.newCaId)} (old one kept until ${text(out.oldKeptUntil)})`,
      ),
  },
  'spiffe purge': {
    procedure: 'spiffe.purge',
    input: () => undefined,
    print: (ctx, out) => say(ctx, out, `${text(out.purged)} expired SVID(s) purged`),
  },
  // ── ACME ─────────────────────────────────────────────────────────────────────────────────────────────────────
  'acme enable': {
    procedure: 'acme.enable',
    input: (_args, o) => ({
      ca: o.ca,
      profile: o.profile,
      allowDns: split(o.allowDns),
      allowIps: split(o.allowIp),
      requireEab: o.requireEab,
      ordersPerHour: o.ordersPerHour,
      lifetime: duration(o.lifetime),
    }),
    // the API's directoryUrl (under the server's public URL), else under the URL through which this CLI reaches it
    print: (ctx, out) =>
      ctx.output(out, () => acmeEnabledText(out as unknown as AcmeDirectoryDto, ctx.config().remote?.server)),
  },
  'acme disable': {
    procedure: 'acme.disable',
    input: (_args, o) => ({ ca: o.ca }),
    print: (ctx, out) =>
      say(
        ctx,
        out,
        out.disabled ? `ACME disabled for ${text(out.caId)}` : `ACME was not enabled for ${text(out.caId)}`,
      ),
  },
  'acme list': {
    procedure: 'acme.directories',
    input: () => undefined,
    print: (ctx, out) =>
      printTable((items: AcmeDirectoryDto[]) => acmeDirectoriesTable(items, ctx.config().remote?.server))(ctx, out),
  },
  'acme accounts': {
    procedure: 'acme.accounts',
    input: (_args, o) => ({ ca: o.ca }),
    print: printTable(acmeAccountsTable),
  },
  'acme eab create': {
    procedure: 'acme.createEabKey',
    input: (_args, o) => ({ ca: o.ca }),
    print: (ctx, out) => say(ctx, out, `kid: ${text(out.kid)}\nhmac key: ${text(out.hmacKey)}`),
  },
  'acme eab list': {
    procedure: 'acme.eabKeys',
    input: (_args, o) => ({ ca: o.ca }),
    print: printTable(acmeEabKeysTable),
  },
  'acme eab revoke': {
    procedure: 'acme.revokeEabKey',
    input: ([kid]) => ({ kid }),
    print: (ctx, out) => say(ctx, out, `EAB key ${text(out.kid)} revoked`),
  },
};
