import { z } from 'zod';
import {
  REST_PREFIX,
  REST_TWINS,
  restBoundField,
  restInputInQuery,
  restPathParams,
  type RestTwin,
} from '@pkim/contract';
import { IDEMPOTENCY_REFUSED } from './idempotency-plugin';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as zod writes it. */
export type JsonSchema = Record<string, unknown>;

/** The zod schemas a tRPC procedure declares (`.input()`, `.output()`), read from its definition. */
export interface ProcedureSchemas {
  type: 'query' | 'mutation' | 'subscription';
  input?: z.ZodType;
  output?: z.ZodType;
}

interface ProcedureDef {
  _def: { type: ProcedureSchemas['type']; inputs?: unknown[]; output?: unknown };
}

/** The schemas of every procedure of a tRPC router, by path (`ca.list`). */
export function procedureSchemas(router: { _def: { procedures: object } }): Map<string, ProcedureSchemas> {
  const out = new Map<string, ProcedureSchemas>();
  for (const [path, proc] of Object.entries(router._def.procedures as Record<string, ProcedureDef>)) {
    const d = proc._def;
    const input = d.inputs?.[0];
    out.set(path, {
      type: d.type,
      input: input instanceof z.ZodType ? input : undefined,
      output: d.output instanceof z.ZodType ? d.output : undefined,
    });
  }
  return out;
}

/** JSON Schema of a zod schema for one side (`input`: what a client may send; `output`: what it gets). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  return rest;
}

/** the object schema behind an optional input (`schema.optional()` → `anyOf: [obj, not {}]`) */
export function objectSchemaOf(s: JsonSchema): JsonSchema | undefined {
  if (s.type === 'object') return s;
  for (const alt of (s.anyOf ?? s.oneOf ?? []) as JsonSchema[]) {
    const o = objectSchemaOf(alt);
    if (o) return o;
  }
  return undefined;
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'every error of the REST API (docs/errors.md lists the codes)',
  required: ['error', 'code', 'message', 'requestId'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', examples: ['ca.not_found'] },
        message: { type: 'string' },
        details: { type: 'object' },
      },
    },
    code: { type: 'string', description: 'the same as error.code (first REST version)' },
    message: { type: 'string' },
    requestId: { type: 'string' },
    details: { type: 'object' },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** `/cas/:id` → `/cas/{id}` */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_]\w*)/g, '{$1}');

/** An operation outside the twin table (the few hand-written REST routes), described by its own schemas. */
export interface ExtraOperation {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  status: 200 | 201;
  /** JSON output schema, or a non-JSON media type (and the JSON schema of the same route's JSON rendering) */
  output: z.ZodType | { mediaType: string; json?: z.ZodType };
  params?: string[];
  /** query-string parameters (the properties of this object schema) */
  query?: z.ZodType;
  public?: boolean;
}

export interface OpenApiOptions {
  version: string;
  procedures: Map<string, ProcedureSchemas>;
  extra: ExtraOperation[];
  /** permissions shown per operation */
  permissionOf(kind: 'twin' | 'extra', key: string): string | undefined;
}

function operationForTwin(name: string, twin: RestTwin, schemas: ProcedureSchemas, permission: string | undefined) {
  const inSchema = schemas.input ? objectSchemaOf(jsonSchemaOf(schemas.input, 'input')) : undefined;
  const props = (inSchema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((inSchema?.required ?? []) as string[]);
  const bound = new Set<string>();
  const parameters: object[] = restPathParams(twin.path).map((p) => {
    const field = restBoundField(twin, p);
    bound.add(field);
    return { name: p, in: 'path', required: true, schema: props[field] ?? { type: 'string' } };
  });
  const rest = Object.fromEntries(Object.entries(props).filter(([k]) => !bound.has(k)));
  const restRequired = [...required].filter((k) => !bound.has(k));
  let requestBody: object | undefined;
  if (restInputInQuery(twin.method)) {
    for (const [k, s] of Object.entries(rest)) {
      const array = s.type === 'array';
      parameters.push({
        name: k,
        in: 'query',
        required: required.has(k),
        schema: s,
        ...(array ? { style: 'form', explode: true } : {}),
      });
    }
  } else if (inSchema) {
    const bodySchema: JsonSchema = { ...inSchema, properties: rest };
    if (restRequired.length) bodySchema.required = restRequired;
    else delete bodySchema.required;
    requestBody = { required: restRequired.length > 0, content: { 'application/json': { schema: bodySchema } } };
  }
  const status = String(twin.status ?? 200);
  const json = { schema: schemas.output ? jsonSchemaOf(schemas.output, 'output') : {} };
  const content: Record<string, object> = { 'application/json': json };
  for (const m of twin.download?.mediaTypes ?? []) {
    content[m] = { schema: { type: 'string', ...(m.endsWith('octet-stream') ? { contentMediaType: m } : {}) } };
  }
  return {
    operationId: name,
    summary: twin.summary,
    description:
      `The REST twin of the tRPC procedure \`${name}\` (same schemas, same permission check).` +
      (permission ? ` Permission: \`${permission}\`.` : ''),
    tags: [name.split('.')[0]!],
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [status]: { description: 'success', content },
      ...errorResponses(),
    },
  };
}

function queryParameters(schema: z.ZodType | undefined): object[] {
  const o = schema ? objectSchemaOf(jsonSchemaOf(schema, 'input')) : undefined;
  const required = new Set((o?.required ?? []) as string[]);
  return Object.entries((o?.properties ?? {}) as Record<string, JsonSchema>).map(([name, s]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: s,
  }));
}

/** the error answers of every operation (REST `{ code, message, requestId }`, status by kind: error-mapping.ts) */
function errorResponses(): Record<string, object> {
  return {
    '400': errorResponse('invalid input (`input.invalid`)'),
    '401': errorResponse('no or an invalid token (`auth.unauthenticated`)'),
    '403': errorResponse('not permitted (`auth.forbidden`, `provisioner.*`)'),
    '404': errorResponse('not found'),
    '409': errorResponse('conflict with the current state'),
    '422': errorResponse('refused by a profile, a policy or the linter (`policy.*`, `lint.*`): nothing was signed'),
    '429': errorResponse('over the rate budget (`rate.limited`, `auth.throttled`): see `Retry-After`'),
    '503': errorResponse('the database or a key backend is unavailable or timed out (`store.*`, `kms.*`)'),
    default: errorResponse('other errors (same shape)'),
  };
}

function operationForExtra(op: ExtraOperation, permission: string | undefined) {
  const body = op.body ? jsonSchemaOf(op.body, 'input') : undefined;
  const content =
    op.output instanceof z.ZodType
      ? { 'application/json': { schema: jsonSchemaOf(op.output, 'output') } }
      : {
          [op.output.mediaType]: { schema: { type: 'string' } },
          ...(op.output.json ? { 'application/json': { schema: jsonSchemaOf(op.output.json, 'output') } } : {}),
        };
  return {
    operationId: `${op.method.toLowerCase()}${op.path.replace(/[^A-Za-z0-9]+/g, '_')}`,
    summary: op.summary,
    ...(permission ? { description: `Permission: \`${permission}\`.` } : {}),
    tags: [op.tag],
    ...(op.public ? { security: [] } : {}),
    parameters: [
      ...(op.params ?? []).map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' } })),
      ...queryParameters(op.query),
    ],
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
    responses: {
      [String(op.status)]: { description: 'success', content },
      ...errorResponses(),
    },
  };
}

/** the `Idempotency-Key` request header (IETF draft "The Idempotency-Key HTTP Header Field"; idempotency-plugin.ts) */
const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'A key of your choosing (a UUID) that makes a retry safe: the first request with it runs and its answer (2xx) ' +
    'is kept for PKIM_IDEMPOTENCY_TTL (24 h); the same request again with the key, by the same token or user, gets ' +
    'that answer (header `Idempotent-Replayed: true`) instead of a second creation. Another request with the key: ' +
    '422 `idempotency.key_reused`; while the first runs: 409 `idempotency.in_progress`. A failed request is not ' +
    'kept (its retry runs again). 1 to 255 printable ASCII characters, bare or as a structured-field string ("…").',
  schema: { type: 'string', minLength: 1, maxLength: 257 },
};

/**
 * The OpenAPI 3.1 document of the REST API: one operation per REST twin (schemas converted from the procedure's zod
 * schemas by zod's own `toJSONSchema`) plus the few hand-written routes.
 */
export function buildOpenApiDocument(o: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (method: string, path: string, op: unknown) => {
    const p = (paths[path] ??= {});
    p[method.toLowerCase()] = op;
  };
  for (const [name, twin] of Object.entries(REST_TWINS) as [string, RestTwin][]) {
    const schemas = o.procedures.get(name);
    if (!schemas) continue;
    const key = `${twin.method} ${REST_PREFIX}${twin.path}`;
    add(
      twin.method,
      openApiPath(`${REST_PREFIX}${twin.path}`),
      operationForTwin(name, twin, schemas, o.permissionOf('twin', key)),
    );
  }
  for (const op of o.extra) {
    add(op.method, openApiPath(op.path), operationForExtra(op, o.permissionOf('extra', `${op.method} ${op.path}`)));
  }
  // Idempotency-Key on every REST POST but those whose answer carries a key or a secret (idempotency-plugin.ts)
  for (const [path, ops] of Object.entries(paths)) {
    const op = ops.post as { parameters: object[] } | undefined;
    const route = `POST ${path.replace(/\{(\w+)\}/g, ':$1')}`;
    if (op && path.startsWith(`${REST_PREFIX}/`) && !(route in IDEMPOTENCY_REFUSED)) {
      op.parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'PKI Manager API',
      version: o.version,
      description:
        'The REST API of PKI Manager: every tRPC procedure of the console has a twin here with the same schemas ' +
        'and permissions. Authenticate with `Authorization: Bearer <token>` (`pkim token create`).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API token (pkim_…)' } },
      schemas: { Error: ERROR_SCHEMA },
      parameters: { IdempotencyKey: IDEMPOTENCY_KEY_PARAMETER },
    },
    paths,
  };
}
