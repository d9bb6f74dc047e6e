import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PkiError } from '@pkim/shared';
import { REST_TWINS, restBoundField, restInputInQuery, restPathParams, type RestTwin } from '@pkim/contract';
import { accessFor, checkAccess } from '../../http/access-table';
import {
  buildOpenApiDocument,
  jsonSchemaOf,
  objectSchemaOf,
  type ExtraOperation,
  type JsonSchema,
  type ProcedureSchemas,
} from '../../http/openapi-document';

/** Defined (true) by the build (scripts/build.mjs) in the compiled bundle; undefined when running the sources. */
declare const PKIM_BUNDLED: boolean | undefined;

/**
 * The directory of Swagger UI's files: beside the compiled bundle (dist/api-docs, copied by the build, so the packed
 * package needs no swagger-ui-dist and none of its install telemetry), else swagger-ui-dist's own answer (loaded on
 * first use: no start-up cost).
 */
const swaggerUiDir = async (): Promise<string> =>
  typeof PKIM_BUNDLED !== 'undefined' && PKIM_BUNDLED
    ? resolve(dirname(fileURLToPath(import.meta.url)), '../api-docs')
    : (await import('swagger-ui-dist/absolute-path.js')).default();

export interface RestTwinOptions {
  /** the schemas of every tRPC procedure (procedureSchemas(appRouter)) */
  procedures: Map<string, ProcedureSchemas>;
  /** runs a procedure as the request's caller (the tRPC caller: same middleware, access check, input parsing) */
  call(name: string, input: unknown, request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  /** the hand-written routes, for the OpenAPI document */
  extra: ExtraOperation[];
  version: string;
}

/** the JSON types a query parameter's schema allows (`anyOf` unions included) */
function typesOf(s: JsonSchema | undefined): Set<string> {
  const out = new Set<string>();
  if (!s) return out;
  if (typeof s.type === 'string') out.add(s.type);
  if (Array.isArray(s.type)) for (const t of s.type as string[]) out.add(t);
  for (const alt of (s.anyOf ?? s.oneOf ?? []) as JsonSchema[]) for (const t of typesOf(alt)) out.add(t);
  return out;
}

function coerceOne(v: string, s: JsonSchema | undefined): unknown {
  const types = typesOf(s);
  if (types.has('string')) return v;
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (types.has('boolean') && (v === 'true' || v === 'false')) return v === 'true';
  if (types.has('object') && v.startsWith('{')) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v; // the procedure's schema refuses it with a clear message
}

/** query strings → the input's types, from the input's JSON Schema (numbers, booleans, repeated keys as arrays) */
function queryCoercer(input: JsonSchema | undefined) {
  const props = (input?.properties ?? {}) as Record<string, JsonSchema>;
  return (query: Record<string, string | string[] | undefined>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, raw] of Object.entries(query)) {
      if (raw === undefined) continue;
      const s = props[k];
      if (typesOf(s).has('array')) {
        const items = (s?.items ?? {}) as JsonSchema;
        out[k] = (Array.isArray(raw) ? raw : [raw]).map((v) => coerceOne(v, items));
      } else {
        out[k] = Array.isArray(raw) ? raw.map((v) => coerceOne(v, s)) : coerceOne(raw, s);
      }
    }
    return out;
  };
}

const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>PKI Manager API</title>
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/pkim-docs.js"></script>
</body></html>
`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: false });
`;
/** Swagger UI's files served (no CDN): from dist/api-docs in the compiled bundle, else from swagger-ui-dist */
const DOCS_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/**
 * The REST twin of every tRPC procedure (`/api/v1`, rows in @pkim/contract's REST_TWINS): the input is the path
 * parameters + the query string or JSON body, run through the tRPC caller — the same access check, input schema,
 * authority call and output schema as over tRPC — and answered as JSON (or a file/PEM for the twins that have a
 * download rendering). Also serves the OpenAPI 3.1 document (`/api/v1/openapi.json`) and Swagger UI (`/api/docs`).
 * Register with prefix `/api/v1`, inside the authenticated scope.
 */
export const restTwinPlugin: FastifyPluginAsync<RestTwinOptions> = async (app, opts) => {
  app.removeContentTypeParser('text/plain');
  app.addHook('preHandler', async (request) => {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    checkAccess('rest', `${method} ${request.routeOptions.url ?? ''}`, request.actor);
  });

  for (const [name, twin] of Object.entries(REST_TWINS) as [string, RestTwin][]) {
    const schemas = opts.procedures.get(name);
    if (!schemas) throw new Error(`REST twin ${name}: no such tRPC procedure`);
    // the input's JSON Schema (for query-string types) is made by the first request, not at start-up
    let coercer: ReturnType<typeof queryCoercer> | undefined;
    const coerce = (query: Record<string, string | string[] | undefined>) =>
      (coercer ??= queryCoercer(schemas.input ? objectSchemaOf(jsonSchemaOf(schemas.input, 'input')) : undefined))(
        query,
      );
    const params = restPathParams(twin.path);
    app.route({
      method: twin.method,
      url: twin.path,
      handler: async (request, reply) => {
        const fromClient = restInputInQuery(twin.method)
          ? coerce(request.query as Record<string, string | string[] | undefined>)
          : (request.body ?? {});
        if (typeof fromClient !== 'object' || fromClient === null || Array.isArray(fromClient)) {
          throw new PkiError('input.invalid', 'the request body must be a JSON object');
        }
        if (!schemas.input) {
          // a procedure without input: a key sent anyway (`GET /cas?status=disabled`) would be dropped without a
          // word and the caller would take the whole answer for the filtered one; refused as an input schema would
          const stray = Object.keys(fromClient);
          if (stray.length > 0) {
            const message = `Unrecognized key${stray.length > 1 ? 's' : ''}: ${stray.map((k) => `"${k}"`).join(', ')}`;
            throw new PkiError('input.invalid', message, { details: { issues: [{ path: '', message }] } });
          }
        }
        const input: Record<string, unknown> = { ...(fromClient as Record<string, unknown>) };
        const pathValues = request.params as Record<string, string>;
        for (const p of params) input[restBoundField(twin, p)] = pathValues[p];
        const output = await opts.call(name, input, request, reply);
        reply.code(twin.status ?? 200);
        const wantsJson = (request.headers.accept ?? '').includes('application/json');
        if (twin.download && !wantsJson) {
          const f = twin.download.render(output);
          reply.type(f.mediaType);
          reply.header('cache-control', 'no-store');
          if (f.fileName) {
            reply.header('content-disposition', `attachment; filename="${f.fileName.replace(/["\\\r\n]/g, '_')}"`);
          }
          if (f.warning) reply.header('x-pkim-warning', f.warning);
          return reply.send(typeof f.body === 'string' ? f.body : Buffer.from(f.body));
        }
        return reply.type('application/json').send(output ?? null);
      },
    });
  }

  let document: string | undefined;
  app.get('/openapi.json', async (_request, reply) => {
    document ??= JSON.stringify(
      buildOpenApiDocument({
        version: opts.version,
        procedures: opts.procedures,
        extra: opts.extra,
        permissionOf: (_kind, key) => {
          const access = accessFor('rest', key);
          return access === 'public' ? undefined : access;
        },
      }),
    );
    return reply.type('application/json').header('cache-control', 'no-cache').send(document);
  });
};

/**
 * Swagger UI at `/api/docs` from its files (`dir`, default swaggerUiDir; register without prefix). A file missing on
 * disk (an install without them) is a 404 in the REST error shape, not a 500.
 */
export const apiDocsPlugin: FastifyPluginAsync<{ dir?: string }> = async (app, opts) => {
  app.addHook('preHandler', async (request) => {
    checkAccess('rest', `GET ${request.routeOptions.url ?? ''}`, request.actor);
  });
  let dist = opts.dir;
  const cache = new Map<string, Buffer>();
  app.get('/api/docs', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(DOCS_HTML),
  );
  app.get<{ Params: { file: string } }>('/api/docs/:file', async (request, reply) => {
    const file = request.params.file;
    if (file === 'pkim-docs.js') return reply.type('text/javascript; charset=utf-8').send(DOCS_INIT);
    const type = DOCS_FILES[file];
    if (!type) throw new PkiError('route.not_found', `no route GET /api/docs/${file.slice(0, 100)}`);
    let body = cache.get(file);
    if (!body) {
      dist ??= await swaggerUiDir();
      try {
        body = await readFile(join(dist, file));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        throw new PkiError('route.not_found', `Swagger UI's ${file} is not installed with this server`);
      }
      cache.set(file, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  });
};
