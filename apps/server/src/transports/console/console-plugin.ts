import { PkiError } from '@pkim/shared';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

/**
 * The web console transport: the static files of apps/web (built by Vite into apps/web/dist) at `/`,
 * with the single-page-app fallback (`/certificates/crt_…` answers index.html so deep links and
 * reloads work). No runtime CDN: everything the console loads comes from this server.
 */

/** Content-Security-Policy of the console (the API keeps helmet's `default-src 'none'`). */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Radix positions popovers with inline style attributes
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** URL prefixes that belong to the API and relying-party transports: never the console. */
const NOT_CONSOLE = /^\/(trpc|api|crl|aia|ocsp|metrics|healthz|readyz|v1|acme|scep|est)(\/|$|\?)/;

/** Defined (true) by the build (scripts/build.mjs) in the compiled bundle; undefined when running the sources. */
declare const PKIM_BUNDLED: boolean | undefined;

/** PKIM_CONSOLE_DIR, else the console beside the compiled bundle (dist/web), else apps/web/dist in the sources. */
export function resolveConsoleDir(env: Record<string, string | undefined> = {}): string {
  if (env.PKIM_CONSOLE_DIR) return resolve(env.PKIM_CONSOLE_DIR);
  const here = dirname(fileURLToPath(import.meta.url));
  return typeof PKIM_BUNDLED !== 'undefined' && PKIM_BUNDLED
    ? resolve(here, '../web')
    : resolve(here, '../../../../web/dist');
}

export function consoleIsBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PKI Manager</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>PKI Manager</h1><p>The web console has not been built. Build it once with</p>
<pre>npm run build</pre><p>(or start the server with <code>npm start</code>, which builds it). The API is up:
<code>/trpc</code>, <code>/api/v1</code>, <code>/ocsp</code>, <code>/crl/&lt;ca&gt;.crl</code>.</p></body></html>`;

export interface ConsoleHandle {
  dir: string;
  built: boolean;
  /** answers a GET for a client-side route with index.html; false when the request is not the console's */
  fallback(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
}

export function createConsoleHandle(dir: string): ConsoleHandle {
  const built = consoleIsBuilt(dir);
  return {
    dir,
    built,
    async fallback(request, reply) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const path = request.url.split('?')[0] ?? '';
      if (NOT_CONSOLE.test(path) || /\.[A-Za-z0-9]{1,8}$/.test(path)) return false;
      const accept = request.headers.accept ?? '';
      if (!accept.includes('text/html')) return false;
      const html = built ? await readFile(join(dir, 'index.html'), 'utf8') : NOT_BUILT_PAGE;
      reply
        .code(built ? 200 : 503)
        .header('content-security-policy', CONSOLE_CSP)
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(html);
      return true;
    },
  };
}

export const consolePlugin: FastifyPluginAsync<{ handle: ConsoleHandle }> = async (app, { handle }) => {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    return payload;
  });
  if (!handle.built) {
    app.get('/', async (request, reply) => {
      // not a browser asking for the page: answer like any unknown route (it used to hang here)
      if (!(await handle.fallback(request, reply))) throw new PkiError('route.not_found', 'no route GET /');
      return reply;
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: handle.dir,
    prefix: '/',
    // one route per built file (no wildcard), so unknown paths still reach the API's JSON 404 / SPA fallback
    wildcard: false,
    index: ['index.html'],
    setHeaders(reply: unknown, filePath: string) {
      // Vite fingerprints everything under assets/: cache it for a year; index.html must revalidate
      (reply as FastifyReply).header(
        'cache-control',
        filePath.includes(join('assets', '')) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
};
