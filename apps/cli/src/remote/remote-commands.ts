// The commands that run against a server (remote mode), each as the procedure it is and how its flags become the
// procedure's input. The HTTP request comes from the contract (`restCallFor`), the `--json` output is the
// procedure's output — the DTO the local command prints too — so local and remote mode print the same JSON.
import { PkiError } from '@pkim/shared';
import type { RestTwinName } from '@pkim/contract';
import type { RemoteTarget } from '../config/cli-config';
import { downloadRemote } from './remote-client';
import type { CliContext } from '../cli-context';
import { parseSans, readInputFile, revokedPem } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { readPasswordFile } from '../export-output';
import {
  auditActorsTable,
  auditTable,
  casTable,
  certDetails,
  certificateDeletedLine,
  certificatesTable,
  DASHBOARD_REVOCATIONS,
  dashboardText,
  firstName,
  keyValues,
  requestsTable,
  sansText,
  table,
  type AuditLine,
  type CaLine,
  type CertificateDetailLine,
  type CertificateLine,
  type CertificatePurposes,
  type DashboardLine,
  type RequestLine,
} from '../format';
import { defaultName, printCrl, writeIssued, type CrlOptions } from '../command-outputs';

export type Opts = Record<string, unknown>;
export type Dto = Record<string, unknown>;
/** another procedure call on the same server (a name looked up, a job polled) */
export type RemoteCall = (procedure: RestTwinName, input?: Record<string, unknown>) => Promise<Dto>;

export interface RemoteCommand {
  procedure: RestTwinName;
  /** the procedure's input from the command's arguments and options (parsed by the command's own parsers) */
  input(
    args: string[],
    o: Opts,
    call: RemoteCall,
  ): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
  /** prints the output as the local command does (default: the JSON, or a generic rendering of it) */
  print?(ctx: CliContext, out: Dto, o: Opts, args: string[], call: RemoteCall): Promise<void> | void;
  /**
   * runs the command through a REST route that is no procedure's twin instead (`cert list --format csv`: the
   * inventory export); false: the procedure as usual
   */
  direct?(ctx: CliContext, o: Opts, target: RemoteTarget): Promise<boolean>;
  /** another remote form when an option is given (`ca create --external`: `ca.createExternal`) */
  withOption?: Readonly<Record<string, RemoteCommand>>;
}

/** a lifetime the command parsed to milliseconds → the contract's `ttl` (seconds) */
export const ttl = (ms: unknown): number | undefined => (typeof ms === 'number' ? Math.ceil(ms / 1000) : undefined);
/** a lifetime the command parsed to milliseconds → a duration string of the contract (`3600s`) */
export const duration = (ms: unknown): string | undefined =>
  typeof ms === 'number' ? `${Math.ceil(ms / 1000)}s` : undefined;

const SUBJECT_FIELDS: Record<string, string> = {
  CN: 'commonName',
  O: 'organization',
  OU: 'organizationalUnit',
  C: 'country',
  ST: 'state',
  L: 'locality',
};

/** a DN string (`CN=x,O=y,C=US` or `/C=US/O=y/CN=x`) → the contract's subject fields */
export async function subjectOf(dn: string): Promise<Record<string, string>> {
  const { parseDn } = await import('../lazy/core-runtime');
  const subject: Record<string, string> = {};
  for (const { type, value } of parseDn(dn)) {
    const field = SUBJECT_FIELDS[type];
    if (!field || subject[field] !== undefined) {
      throw new PkiError(
        'input.invalid',
        `remote mode: a subject has at most one each of ${Object.keys(SUBJECT_FIELDS).join(', ')} ` +
          `(got ${type} in '${dn}')`,
      );
    }
    subject[field] = value;
  }
  return subject;
}

/** a generic human rendering: a table of a page's items, or the scalar fields of an object */
/** `pkim cert revoke`'s line, by ref or --pem */
const printRevoked = (ctx: CliContext, out: Dto): void =>
  ctx.output(out, () => `certificate ${String(out.serial)} revoked (${String(out.revocationReason)})`);

export function human(out: unknown, columns?: string[]): string {
  const cell = (v: unknown): string =>
    v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
  if (Array.isArray(out) || (out && typeof out === 'object' && Array.isArray((out as Dto).items))) {
    const items = (Array.isArray(out) ? out : (out as Dto).items) as Dto[];
    const cols = columns ?? Object.keys(items[0] ?? {}).filter((k) => typeof items[0]?.[k] !== 'object');
    const next = Array.isArray(out) ? null : (out as Dto).nextCursor;
    return (
      table(
        cols.map((c) => c.toUpperCase()),
        items.map((i) => cols.map((c) => cell(i[c]))),
      ) + (typeof next === 'string' ? `\nmore: --cursor ${next}` : '')
    );
  }
  const o = (out ?? {}) as Dto;
  const pairs = Object.entries(o)
    .filter(([k, v]) => !k.endsWith('Pem') && (v === null || typeof v !== 'object'))
    .map(([k, v]): [string, string] => [k, cell(v)]);
  if (o.sans && typeof o.sans === 'object') pairs.push(['sans', sansText(o.sans)]);
  return keyValues(pairs);
}

/** a page's items (`{ items, nextCursor }`) */
export const pageItems = (out: Dto): Dto[] => (Array.isArray(out.items) ? (out.items as Dto[]) : []);
/** an RFC 3339 time of the API → ms (null stays null) */
export const ms = (v: unknown): number | null => (typeof v === 'string' ? Date.parse(v) : null);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '-');

/**
 * prints a page with the local command's table (format.ts): `line` maps each of the API's objects to what the
 * local renderer takes (`T`: the API's object as it is where both have the same fields); the page's `nextCursor`
 * goes to renderers that print `more: --cursor …`
 */
export const printTable =
  <T>(render: (items: T[], nextCursor: string | null) => string, line: (item: Dto) => T = (item) => item as T) =>
  (ctx: CliContext, out: Dto): void =>
    ctx.output(out, () => render(pageItems(out).map(line), typeof out.nextCursor === 'string' ? out.nextCursor : null));

/** the API's objects → the lines the local tables print (format.ts), so both modes print the same table */
const caLine = (c: Dto): CaLine => ({
  id: str(c.id),
  name: str(c.name),
  status: str(c.status),
  keyType: str(c.keyType),
  keyBackend: str(c.keyBackend),
  parentId: typeof c.parentId === 'string' ? c.parentId : null,
  notAfter: ms(c.notAfter),
  subjectDn: str(c.subject),
});
const certificateLine = (c: Dto): CertificateLine => ({
  id: str(c.id),
  serialHex: str(c.serial),
  caId: str(c.caId),
  status: str(c.status),
  profile: str(c.profile),
  notBefore: ms(c.notBefore) ?? 0,
  notAfter: ms(c.notAfter) ?? 0,
  subjectDn: str(c.subject),
  commonName: typeof c.commonName === 'string' ? c.commonName : null,
  sans: c.sans ?? {},
});
/** a certificate of the API (`certificate.get`, an issued one) → what the local `certDetails` takes */
const certificateDetailLine = (out: Dto): CertificateDetailLine => ({
  ...certificateLine(out),
  keyType: str(out.keyType),
  revokedAt: ms(out.revokedAt) ?? null,
  revocationReason: typeof out.revocationReason === 'string' ? out.revocationReason : null,
  fingerprintSha256: str(out.fingerprintSha256),
  requestId: typeof out.requestId === 'string' ? out.requestId : null,
  issuedBy: str(out.issuedBy),
  renewedFrom: typeof out.renewedFrom === 'string' ? out.renewedFrom : null,
});
const requestLine = (r: Dto): RequestLine => ({
  id: str(r.id),
  status: str(r.status),
  profile: str(r.profile),
  createdAt: ms(r.createdAt) ?? 0,
  requester: str(r.requester),
  subjectDn: str(r.subject),
});

async function printIssued(ctx: CliContext, out: Dto, o: Opts, showKey: boolean): Promise<void> {
  const issued = out as { certificatePem: string; chainPem: string; privateKeyPem?: string };
  const written = writeIssued(o, issued);
  const keyShown = showKey && !o.outKey;
  ctx.output(
    { ...out, ...(showKey ? { privateKeyPem: keyShown ? issued.privateKeyPem : undefined } : {}), written },
    // the local text (cert-command.ts): `cert issue` shows the key unless --out-key, `cert sign` the PEM unless written
    () =>
      certDetails(certificateDetailLine(out)) +
      (written.length ? `\nwritten: ${written.join(', ')}` : showKey ? '' : `\n\n${issued.certificatePem}`) +
      (keyShown ? `\n\n${issued.certificatePem}${issued.privateKeyPem ?? ''}` : ''),
  );
}

const listInput = (o: Opts) => ({
  ca: o.ca,
  status: o.status,
  profile: o.profile,
  search: o.search,
  // the duration as given (in seconds), not rounded up to whole days: the window the local command applies
  expiringWithin: duration(o.expiringWithin),
  sort: o.sort,
  limit: o.limit,
  cursor: o.cursor,
});

/** what `ca create` and `ca create --external` send alike: name, subject, key, path length, name constraints */
async function caInput(o: Opts): Promise<Record<string, unknown>> {
  const permit = (k: string) => o[k] as string[] | undefined;
  return {
    name: o.name ?? defaultName(o.subject as string),
    subject: await subjectOf(o.subject as string),
    keyType: o.keyType,
    pathLen: o.pathLen,
    backend: o.backend,
    nameConstraints: {
      permittedDns: permit('permitDns'),
      excludedDns: permit('excludeDns'),
      permittedIp: permit('permitIp'),
      excludedIp: permit('excludeIp'),
      permittedUri: permit('permitUri'),
      excludedUri: permit('excludeUri'),
      permittedEmail: permit('permitEmail'),
      excludedEmail: permit('excludeEmail'),
    },
  };
}

/** the REST audit list's largest page (`limit` ≤ 1000): a larger --limit reads page after page */
const AUDIT_PAGE_MAX = 1000;
const auditQuery = (o: Opts) => ({
  action: o.action,
  actor: o.actor,
  target: o.target,
  order: o.afterSeq !== undefined ? 'asc' : 'desc',
});
const auditLine = (e: Dto): AuditLine => ({
  seq: Number(e.seq),
  time: ms(e.time) ?? 0,
  actor: str(e.actor),
  actorName: typeof e.actorName === 'string' ? e.actorName : null,
  action: str(e.action),
  outcome: str(e.outcome),
  target: typeof e.target === 'string' ? e.target : null,
  details: (e.details ?? {}) as Record<string, unknown>,
});

/** command path (`ca create`) → its remote form */
export const CORE_REMOTE_COMMANDS: Readonly<Record<string, RemoteCommand>> = {
  'ca list': {
    procedure: 'ca.list',
    input: (_args, o) => (o.expiringWithin === undefined ? undefined : { expiringWithin: duration(o.expiringWithin) }),
    print: (ctx, out) => ctx.output(out, () => casTable(pageItems(out).map(caLine), Date.now())),
  },
  'ca show': { procedure: 'ca.get', input: ([ref]) => ({ ref }) },
  'ca create': {
    procedure: 'ca.create',
    input: async (_args, o) => ({ ...(await caInput(o)), ttl: ttl(o.validity), parent: o.parent }),
    print(ctx, out, o) {
      if (typeof o.out === 'string' && typeof out.certificatePem === 'string')
        writeOutputFile(o.out, out.certificatePem);
      ctx.output(out, () => human(out));
    },
    withOption: {
      // the key is made by the server (in its key backend); the CSR comes back for the outside CA
      external: {
        procedure: 'ca.createExternal',
        async input(_args, o) {
          if (o.parent) throw new PkiError('input.invalid', '--external and --parent exclude each other');
          // sent to be refused by the server with its one reason: the outside CA decides the dates
          return { ...(await caInput(o)), ttl: ttl(o.validity) };
        },
        print(ctx, out, o) {
          const csrOut = typeof o.csrOut === 'string' ? o.csrOut : undefined;
          if (csrOut) writeOutputFile(csrOut, String(out.csr));
          ctx.output(out, () => `${human(out)}\n\n${csrOut ? `CSR written to ${csrOut}` : String(out.csr)}`);
        },
      },
    },
  },
  'ca import': {
    procedure: 'ca.importCertificate',
    input: ([ref], o) => ({
      ref,
      certificate: readInputFile(o.cert as string, 'certificate'),
      issuerCertificate:
        typeof o.issuerCert === 'string' ? readInputFile(o.issuerCert, 'issuer certificate') : undefined,
    }),
  },
  'ca import-existing': {
    procedure: 'ca.importExisting',
    input: (_args, o) => ({
      certificate: readInputFile(o.cert as string, 'certificate'),
      privateKey: readInputFile(o.key as string, 'private key'),
      keyPassword: readPasswordFile(o.keyPasswordFile as string | undefined),
      issuerCertificate:
        typeof o.issuerCert === 'string' ? readInputFile(o.issuerCert, 'issuer certificate') : undefined,
      name: o.name,
      backend: o.backend,
      ...(o.allowMissingKeyUsage === true ? { allowMissingKeyUsage: true } : {}),
    }),
  },
  'ca export': {
    procedure: 'ca.get',
    input: ([ref]) => ({ ref }),
    print(ctx, out, o) {
      const pem = (o.chain ? out.chainPem : out.certificatePem) as string | null;
      if (!pem) throw new PkiError('ca.not_active', `CA ${String(out.name)} has no certificate yet`);
      const path = typeof o.out === 'string' ? o.out : undefined;
      if (path) writeOutputFile(path, pem);
      ctx.output({ id: out.id, pem }, () => (path ? `written to ${path}` : pem));
    },
  },
  'cert sign': {
    procedure: 'certificate.issue',
    input: async (_args, o) => ({
      ca: o.ca,
      csr: readInputFile(o.csr as string, 'CSR'),
      profile: o.profile,
      sans: parseSans(o.san as string[] | undefined),
      subject: typeof o.subject === 'string' ? await subjectOf(o.subject) : undefined,
      ttl: ttl(o.ttl ?? o.validity),
    }),
    print: (ctx, out, o) => printIssued(ctx, out, o, false),
  },
  'cert issue': {
    procedure: 'certificate.issueWithKey',
    async input(_args, o) {
      if (!o.subject && !o.cn) throw new PkiError('input.invalid', 'give --cn NAME or --subject DN');
      if (o.subject && o.cn) throw new PkiError('input.invalid', '--cn and --subject exclude each other');
      const { defaultSans, cnOf } = await import('../commands/cert-command');
      const dn = (o.subject as string | undefined) ?? `CN=${o.cn as string}`;
      return {
        ca: o.ca,
        subject: await subjectOf(dn),
        profile: o.profile,
        sans: defaultSans(o.profile as string, (o.cn as string | undefined) ?? cnOf(dn), parseSans(o.san as string[])),
        keyType: o.keyType,
        ttl: ttl(o.ttl ?? o.validity),
        keepKey: o.keepKey === true ? true : undefined,
      };
    },
    print: (ctx, out, o) => printIssued(ctx, out, o, true),
  },
  'cert list': {
    procedure: 'certificate.list',
    input: (_args, o) => listInput(o),
    /** the local table: CA names (one more call, for the table only), days left, the shortened serial */
    async print(ctx, out, o, _args, call) {
      const caNames = ctx.options().json
        ? new Map<string, string>()
        : new Map(pageItems(await call('ca.list')).map((c) => [String(c.id), String(c.name)]));
      const now = Date.now();
      const nextCursor = typeof out.nextCursor === 'string' ? out.nextCursor : null;
      ctx.output(out, () =>
        certificatesTable(pageItems(out).map(certificateLine), { caNames, now, wide: o.wide === true, nextCursor }),
      );
    },
    /** csv|json: the inventory report of every matching certificate, from GET /api/v1/certificates/export */
    async direct(ctx, o, target) {
      if (o.format !== 'csv' && o.format !== 'json') return false;
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
      const body = await downloadRemote(target, '/api/v1/certificates/export', {
        format: o.format,
        ca: text(o.ca),
        status: text(o.status),
        profile: text(o.profile),
        search: text(o.search),
        sort: text(o.sort),
        expiringWithin: listInput(o).expiringWithin,
      });
      if (typeof o.out === 'string') {
        writeOutputFile(o.out, body);
        ctx.output({ written: o.out }, () => `written: ${String(o.out)}`);
      } else ctx.io.stdout.write(body);
      return true;
    },
  },
  'cert show': {
    procedure: 'certificate.get',
    input: ([ref]) => ({ ref }),
    /** the local text (certDetails): the detail's ISO times back to epoch ms, its EKUs and policies */
    print: (ctx, out, o) =>
      ctx.output(out, () =>
        o.pem
          ? String(out.certificatePem)
          : certDetails(certificateDetailLine(out), Array.isArray(out.renewedBy) ? out.renewedBy.map(String) : [], {
              extKeyUsage: Array.isArray(out.extKeyUsage) ? out.extKeyUsage.map(String) : [],
              certificatePolicies: Array.isArray(out.certificatePolicies)
                ? (out.certificatePolicies as CertificatePurposes['certificatePolicies'])
                : [],
            }),
      ),
  },
  'cert revoke': {
    procedure: 'certificate.revoke',
    input: ([ref], o) => {
      revokedPem(ref, o);
      return { ref, reason: o.reason };
    },
    print: printRevoked,
    // one command, two procedures: --pem is the same act (revoke one certificate, same reasons, same answer) on a
    // certificate given by its content, so the option picks the procedure rather than a second command
    withOption: {
      pem: {
        procedure: 'certificate.revokePresented',
        input: ([ref], o) => ({
          certificatePem: revokedPem(ref, o),
          reason: o.reason,
          ca: o.ca,
        }),
        print: printRevoked,
      },
    },
  },
  'cert delete': {
    procedure: 'certificate.delete',
    input: ([ref]) => ({ ref }),
    print: (ctx, out) => ctx.output(out, () => certificateDeletedLine(String((out.deleted as Dto).serial))),
  },
  'crl generate': {
    procedure: 'ca.generateCrl',
    input: (_args, o) => ({ ref: o.ca }),
    print: (ctx, out, o) => printCrl(ctx, out as Parameters<typeof printCrl>[1], o as unknown as CrlOptions),
  },
  'audit list': {
    procedure: 'audit.list',
    input: (_args, o) => ({
      ...auditQuery(o),
      limit: Math.min(Number(o.limit), AUDIT_PAGE_MAX),
      afterSeq: o.afterSeq,
      cursor: o.cursor,
    }),
    /** a --limit over the API's page size: the next pages through the cursor, so both modes give the same answer */
    async print(ctx, first, o, _args, call) {
      const limit = Number(o.limit);
      const items = pageItems(first);
      let cursor = first.nextCursor;
      let paged = false;
      while (items.length < limit && typeof cursor === 'string') {
        const remaining = Math.min(limit - items.length, AUDIT_PAGE_MAX);
        const next = await call('audit.list', { ...auditQuery(o), limit: remaining, cursor });
        items.push(...pageItems(next));
        cursor = next.nextCursor;
        paged = true;
      }
      const last = items.at(-1);
      const out = paged ? { items, nextCursor: items.length >= limit && last ? String(last.seq) : null } : first;
      ctx.output(out, () => auditTable(items.map(auditLine)));
    },
  },
  'audit actors': {
    procedure: 'audit.actors',
    input: (_args, o) => ({ q: o.prefix, limit: o.limit, cursor: o.cursor }),
    print: (ctx, out) =>
      ctx.output(out, () =>
        auditActorsTable(
          pageItems(out).map((a) => ({
            id: str(a.id),
            kind: str(a.kind),
            name: str(a.name),
            createdAt: ms(a.createdAt) ?? 0,
          })),
        ),
      ),
  },
  'audit verify': {
    procedure: 'audit.verify',
    input: () => undefined,
    print(ctx, out) {
      if (out.ok !== true) {
        throw new PkiError(
          'audit.chain_broken',
          `audit chain broken at event #${String(out.brokenAtSeq)} (${String(out.brokenEventId)}): ` +
            `${String(out.reason)}; ${String(out.count)} event(s) before it verify`,
          { details: out },
        );
      }
      ctx.output(out, () => `audit chain OK: ${String(out.count)} events verified (on the server)`);
    },
  },
  dashboard: {
    procedure: 'insights.dashboard',
    input: () => undefined,
    /** the text reads the CAs and the last revocations too (one call each), left out where the token may not */
    async print(ctx, out, _o, _args, call) {
      if (ctx.options().json) {
        ctx.output(out, () => '');
        return;
      }
      const readable = (p: Promise<Dto>) =>
        p.then(pageItems).catch((e: unknown) => {
          if (e instanceof PkiError && (e.kind === 'forbidden' || e.kind === 'unauthenticated')) return null;
          throw e;
        });
      const [cas, revoked] = await Promise.all([
        readable(call('ca.list')),
        readable(call('audit.list', { action: 'certificate.revoked', order: 'desc', limit: DASHBOARD_REVOCATIONS })),
      ]);
      const d = out as unknown as Omit<DashboardLine, 'generatedAt' | 'expiringSoon'>;
      const line: DashboardLine = {
        ...d,
        generatedAt: ms(out.generatedAt) ?? 0,
        expiringSoon: (out.expiringSoon as Dto[]).map((c) => ({
          serialHex: str(c.serial),
          name: firstName(c as Parameters<typeof firstName>[0]),
          notAfter: ms(c.notAfter) ?? 0,
        })),
      };
      ctx.output(null, () =>
        dashboardText(line, {
          now: Date.now(),
          cas:
            cas?.map((c) => ({ id: str(c.id), name: str(c.name), status: str(c.status), notAfter: ms(c.notAfter) })) ??
            null,
          revoked:
            revoked?.map((e) => ({
              time: ms(e.time) ?? 0,
              actor: str(e.actor),
              actorName: typeof e.actorName === 'string' ? e.actorName : null,
              details: (e.details ?? {}) as Record<string, unknown>,
            })) ?? null,
        }),
      );
    },
  },
  'request list': {
    procedure: 'request.list',
    input: (_args, o) => ({ status: o.status, limit: o.limit, cursor: o.cursor }),
    print: (ctx, out) =>
      ctx.output(out, () =>
        requestsTable(pageItems(out).map(requestLine), typeof out.nextCursor === 'string' ? out.nextCursor : null),
      ),
  },
  'request show': { procedure: 'request.get', input: ([id]) => ({ id }) },
};
