import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PkiError } from '@pkim/shared';
import {
  caRefSchema,
  certificateInventoryQuerySchema,
  expiringWithinMsOf,
  csrPemSchema,
  inventoryRecordSchema,
  issuedCertificateSchema,
  restSignInputSchema,
  toCertificateDto,
  toIssuedCertificateDto,
  ttlToMs,
} from '@pkim/contract';
import type { Actor, Authority } from '@pkim/authority';
import { zodInputError } from '../../error-mapping';
import { checkAccess } from '../../http/access-table';
import type { ExtraOperation } from '../../http/openapi-document';

/** `POST /cas/:id/sign` answers the issued certificate plus the PEM names of the first REST version */
const signOutputSchema = issuedCertificateSchema.extend({ certificate: z.string(), chain: z.string() });

/** The hand-written routes below, for the OpenAPI document (every other REST route is a procedure's twin). */
export const HANDWRITTEN_REST_OPERATIONS: ExtraOperation[] = [
  {
    method: 'GET',
    path: '/api/v1/cas/{id}/bundle',
    summary: 'The PEM chain from a CA up to its root',
    tag: 'ca',
    params: ['id'],
    status: 200,
    output: { mediaType: 'application/pem-certificate-chain' },
  },
  {
    method: 'POST',
    path: '/api/v1/cas/{id}/sign',
    summary: 'Sign a CSR with this CA (the first REST version of POST /api/v1/certificates)',
    tag: 'ca',
    params: ['id'],
    body: restSignInputSchema,
    status: 201,
    output: signOutputSchema,
  },
  {
    method: 'GET',
    path: '/api/v1/certificates/export',
    summary:
      'Inventory report: every certificate matching the filters as CSV (default) or JSON, all columns, streamed ' +
      "(requesters: only their own requests' certificates)",
    tag: 'certificate',
    query: certificateInventoryQuerySchema,
    status: 200,
    output: { mediaType: 'text/csv', json: z.array(inventoryRecordSchema) },
  },
];

function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodInputError(r.error);
  return r.data;
}

/** the actor the access check already required */
function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new PkiError('auth.unauthenticated', 'authentication required');
  return request.actor;
}

/**
 * The hand-written REST conveniences (`/api/v1`) that are no procedure's twin: Bearer token or session cookie
 * (+ CSRF). Every other REST route is generated (rest-twin-plugin.ts).
 * Errors go through the server's one error handler as `{ code, message, requestId }`.
 */
export const restPkiPlugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // JSON only: text/plain bodies are refused with 415 instead of being parsed as strings
  app.removeContentTypeParser('text/plain');

  // the one access check, shared with tRPC: every route is looked up in the access table
  app.addHook('preHandler', (request, _reply, done) => {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    try {
      checkAccess('rest', `${method} ${request.routeOptions.url ?? ''}`, request.actor);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  });

  /** PEM chain from the CA up to its root */
  app.get<{ Params: { id: string } }>('/cas/:id/bundle', async (request, reply) => {
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id), actorOf(request));
    if (!v.chainPem) throw new PkiError('ca.not_active', `CA '${v.ca.name}' has no certificate yet`);
    reply.type('application/pem-certificate-chain');
    return v.chainPem;
  });

  /**
   * The inventory report (docs/everyday.md#inventory-reports) as a download, streamed: the authority reads a page
   * of rows when the socket has taken the previous one (Readable.from pulls; Fastify pipes with back-pressure).
   */
  app.get('/certificates/export', async (request, reply) => {
    const q = parseInput(certificateInventoryQuerySchema, request.query);
    const within = expiringWithinMsOf(q);
    const report = await authority.inventory.report(
      {
        caId: q.ca,
        status: q.status,
        profile: q.profile,
        expiringBefore: within === undefined ? undefined : authority.clock.now() + within,
        search: q.search,
        sort: q.sort,
      },
      q.format,
      actorOf(request),
    );
    reply.type(report.mediaType);
    reply.header('content-disposition', `attachment; filename="${report.fileName}"`);
    reply.header('cache-control', 'no-store');
    return reply.send(Readable.from(report.body));
  });

  /** `{ csr, profile, ttl }` → the issued certificate (object + `certificatePem` + `chainPem`) */
  app.post<{ Params: { id: string } }>('/cas/:id/sign', async (request, reply) => {
    const issued = await signWithCa(authority, request.params.id, request.body, actorOf(request));
    reply.code(201);
    return signAnswer(issued);
  });
};

/** the sign route's path below the server (the access table's key is `POST <this>`) */
export const SIGN_ROUTE = '/api/v1/cas/:id/sign';

/** what `issueFromCsr` gives the sign route */
type Issued = Awaited<ReturnType<Authority['issuance']['issueFromCsr']>>;

/**
 * `POST /api/v1/cas/:id/sign` after authentication and the access check: the CA reference (the path parameter) and
 * the body checked, the CSR signed. Shared by the route and sign-fast-path.ts; the answer (201) is `signAnswer` of it,
 * as an object (the route) or as JSON text (`signAnswerJson`, the front path).
 */
export async function signWithCa(authority: Authority, id: string, body: unknown, actor: Actor): Promise<Issued> {
  const caRef = checkedCaRef(id);
  const input = checkedSignInput(body);
  return authority.issuance.issueFromCsr(
    {
      caId: caRef,
      csrPem: input.csr,
      profile: input.profile,
      validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
    },
    actor,
  );
}

/** how many accepted CA references, and `profile`/`ttl` pairs, are kept (more: the map starts again) */
const MAX_CHECKED = 256;
/** caRefSchema's output by path parameter, for the references it accepted */
const caRefs = new Map<string, string>();
/** restSignInputSchema's output without `csr`, by the `profile` and `ttl` of a body it accepted */
const signOptions = new Map<string, Omit<z.output<typeof restSignInputSchema>, 'csr'>>();

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_CHECKED) map.clear();
  map.set(key, value);
}

/** `parseInput(caRefSchema, id)`, the schema run once per reference (a CA's id is the same at every request) */
function checkedCaRef(id: string): string {
  let ref = caRefs.get(id);
  if (ref === undefined) remember(caRefs, id, (ref = parseInput(caRefSchema, id)));
  return ref;
}

/**
 * `parseInput(restSignInputSchema, body)` — the same result or error — with only the CSR checked by its schema when
 * the body's `profile` and `ttl` were accepted before (a client sends the same few): the body's keys are among the
 * schema's (it is strict), the CSR passes csrPemSchema, and the output of its other fields depends on them alone.
 * Any other body goes through the whole schema. Issue #12: the route's zod checks were 1.8–2.5 % of the server's
 * main thread per signed request (docs/benchmarks-record.md, sessions 23–24).
 */
export function checkedSignInput(body: unknown): z.output<typeof restSignInputSchema> {
  if (typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype) {
    return parseInput(restSignInputSchema, body);
  }
  const fields = body as Record<string, unknown>;
  for (const k in fields) {
    if (k !== 'csr' && k !== 'profile' && k !== 'ttl') return parseInput(restSignInputSchema, body);
  }
  const { csr, profile, ttl } = fields;
  const key = optionsKey(profile, ttl);
  const kept = key === undefined ? undefined : signOptions.get(key);
  if (kept !== undefined && typeof csr === 'string' && csrPemSchema.safeParse(csr).success) return { csr, ...kept };
  const input = parseInput(restSignInputSchema, body);
  if (key !== undefined) {
    const { csr: _csr, ...options } = input;
    remember(signOptions, key, options);
  }
  return input;
}

/** a key for a `profile` and `ttl` of JSON's kinds the schema may accept (else none: the schema decides) */
function optionsKey(profile: unknown, ttl: unknown): string | undefined {
  const part = (v: unknown) =>
    v === undefined ? 'u' : typeof v === 'string' ? `s${v}` : typeof v === 'number' ? `n${v}` : undefined;
  const p = part(profile);
  const t = part(ttl);
  return p === undefined || t === undefined ? undefined : `${p.length}:${p}${t}`;
}

/** the sign route's answer: the issued certificate, `certificatePem`, `chainPem` and their first-version names */
export function signAnswer(issued: Issued): z.infer<typeof signOutputSchema> {
  // `certificate` / `chain`: the PEM names of the first REST version, kept for scripts written against it (added
  // to the DTO, not spread into a copy: toIssuedCertificateDto)
  const dto = toIssuedCertificateDto(issued) as z.infer<typeof signOutputSchema>;
  dto.certificate = issued.certificatePem;
  dto.chain = issued.chainPem;
  return dto;
}

/** the JSON strings of the last CA chains answered, by chain PEM (one chain per CA) */
const chainJson = new Map<string, string>();
const MAX_CHAINS = 64;

/**
 * `JSON.stringify(signAnswer(issued))`, the same text, with each PEM escaped once: the leaf PEM once for its two
 * names, the CA chain — the same for every certificate of a CA, also under two names — once per chain while it is
 * among the last 64. Node 20's JSON.stringify escapes a PEM's newlines at ≈ 5 ns a character: the four PEMs of the
 * answer were ≈ 2 % of the main thread per signed request (docs/benchmarks-record.md, session 23).
 */
export function signAnswerJson(issued: Issued): string {
  if (issued.privateKeyPem !== undefined) return JSON.stringify(signAnswer(issued));
  const head = JSON.stringify(toCertificateDto(issued.certificate));
  const leaf = JSON.stringify(issued.certificatePem);
  let chain = chainJson.get(issued.chainPem);
  if (chain === undefined) {
    chain = JSON.stringify(issued.chainPem);
    if (chainJson.size >= MAX_CHAINS) chainJson.clear();
    chainJson.set(issued.chainPem, chain);
  }
  return `${head.slice(0, -1)},"certificatePem":${leaf},"chainPem":${chain},"certificate":${leaf},"chain":${chain}}`;
}
