// The harness of the front-path tests (the CSR sign route, Vault issue/sign, OCSP: requests answered in front of
// Fastify's router, apps/server/src/transports/front-path.ts): a server of the authority that logs at info into
// `lines` and counts the requests below a prefix that reached Fastify (so a test knows which path answered), the same
// request sent both ways, the headers two answers must share, the log line and the request count of /metrics as the
// two paths are compared.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { pino } from 'pino';
import type { Authority } from '@pkim/authority';
import { buildServer } from '../src/build-server';
import { listen } from './server-test-support';

/** headers that differ between any two answers */
export const PER_ANSWER_HEADERS = ['date', 'x-request-id', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'keep-alive'];

export interface FrontPathHarness {
  /** the log lines of every server `serve` made */
  lines: Record<string, unknown>[];
  /** requests below the prefix that reached Fastify, on any server `serve` made */
  readonly viaFastify: number;
  /**
   * a server of the authority with budget `max` per hour (the API's or the relying parties', the other off);
   * `onPreClose` runs in a preClose hook after the front path's own
   */
  serve: (max: number, onPreClose?: () => void) => Promise<{ app: FastifyInstance; base: string }>;
  /** the same request sent in front (`fast`) and through Fastify (`routed`), each checked to have gone its way */
  both: (
    fast: () => Promise<Response>,
    routed: () => Promise<Response>,
  ) => Promise<{ fast: Response; routed: Response }>;
  /** an answer's headers without those that differ between any two answers (PER_ANSWER_HEADERS, `perAnswer`) */
  headersOf: (r: Response) => Map<string, string>;
}

export function frontPathHarness(
  authority: () => Authority,
  o: {
    /** URL prefix of the requests counted */
    prefix: string;
    /** which budget `serve(max)` sets */
    budget: 'api' | 'relying-party';
    /**
     * the hook that counts: `onRequest` (every request Fastify receives) or `onResponse` (every answer Fastify sends,
     * also when an earlier hook refused the request)
     */
    countOn: 'onRequest' | 'onResponse';
    /** more headers that differ between two answers */
    perAnswer?: string[];
  },
): FrontPathHarness {
  const lines: Record<string, unknown>[] = [];
  const perAnswer = new Set([...PER_ANSWER_HEADERS, ...(o.perAnswer ?? [])]);
  let viaFastify = 0;
  const budget = (max: number) => ({ max, timeWindowMs: 3_600_000 });
  return {
    lines,
    get viaFastify() {
      return viaFastify;
    },
    serve: async (max, onPreClose) => {
      const logger = pino(
        { level: 'info' },
        { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
      );
      const a = await buildServer(authority(), {
        logger,
        backgroundJobs: false,
        console: false,
        rateLimit: o.budget === 'api' ? budget(max) : false,
        relyingPartyRateLimit: o.budget === 'relying-party' ? budget(max) : false,
      });
      const count = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        if (request.url.startsWith(o.prefix)) viaFastify++;
        done();
      };
      if (o.countOn === 'onRequest') a.addHook('onRequest', count);
      else a.addHook('onResponse', count);
      a.addHook('preClose', (done) => {
        onPreClose?.();
        done();
      });
      return { app: a, base: await listen(a) };
    },
    both: async (fast, routed) => {
      const before = viaFastify;
      const f = await fast();
      if (viaFastify !== before) throw new Error('the request sent in front reached Fastify');
      const r = await routed();
      if (viaFastify !== before + 1) throw new Error('the request sent through Fastify did not reach it once');
      return { fast: f, routed: r };
    },
    headersOf: (r) => new Map([...r.headers].filter(([name]) => !perAnswer.has(name))),
  };
}

/** the log line `msg` of request `id`, as a fast and a routed request compare (times, ids and the port left out) */
export function logLineOf(lines: Record<string, unknown>[], id: string, msg: string): Record<string, unknown> {
  const l = lines.find((x) => x.reqId === id && x.msg === msg);
  if (!l) throw new Error(`no log line '${msg}' of ${id}`);
  const { time: _t, responseTime, pid: _p, hostname: _h, reqId: _r, ...rest } = l;
  if (msg === 'request completed' && typeof responseTime !== 'number') throw new Error(`${id}: no responseTime`);
  const req = rest.req as Record<string, unknown> | undefined;
  return { ...rest, req: req ? { ...req, remotePort: 0 } : undefined };
}

/** the request histogram's count for (method, route, status) in a /metrics text; `route` as a regex source */
export function requestCount(metrics: string, method: string, route: string, status: number): number {
  const series = `method="${method}",route="${route}",status_code="${status}"`;
  const re = new RegExp(`pkim_http_request_duration_seconds_count\\{${series}\\} (\\d+)`);
  return Number(re.exec(metrics)?.[1] ?? 0);
}
