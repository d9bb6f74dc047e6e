import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { tempDir } from '../../../tests/support/openssl-tools';
import { openAuthorityFixture, type AuthorityFixture } from './server-test-support';

const INDEX = [
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head>',
  '<body><div id="root"></div></body></html>',
].join('');

describe('web console transport (static files at /, SPA fallback)', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  const dist = tempDir('pkim-console-dist-');

  beforeAll(async () => {
    mkdirSync(join(dist.dir, 'assets'));
    writeFileSync(join(dist.dir, 'index.html'), INDEX);
    writeFileSync(join(dist.dir, 'assets', 'index-abc123.js'), 'console.log("pkim")');
    writeFileSync(join(dist.dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    fx = await openAuthorityFixture();
    app = await buildServer(fx.authority, { logger: false, backgroundJobs: false, console: { dir: dist.dir } });
    bare = await buildServer(fx.authority, {
      logger: false,
      backgroundJobs: false,
      console: { dir: join(dist.dir, 'missing') },
    });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await fx?.close();
    dist.cleanup();
  });

  it('serves index.html at / with the console CSP and no caching', async () => {
    const r = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toBe(INDEX);
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).not.toContain('http');
    expect(r.headers['cache-control']).toBe('no-cache');
    // a document: helmet's document headers too (the API's data answers leave them off)
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    const deepLink = await app.inject({ url: '/certificates/crt_1', headers: { accept: 'text/html' } });
    expect(deepLink.headers['cross-origin-opener-policy']).toBe('same-origin');
  });

  it('serves fingerprinted assets as immutable', async () => {
    const r = await app.inject({ url: '/assets/index-abc123.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toContain('immutable');
  });

  it('answers deep links of the console (reloads of client routes) with index.html', async () => {
    for (const url of ['/certificates', '/certificates/crt_abc?x=1', '/cas/ca_1', '/login?redirect=%2Faudit']) {
      const r = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).toBe(INDEX);
    }
  });

  it('keeps JSON 404s for the API, unknown files and non-HTML clients', async () => {
    for (const [url, accept] of [
      ['/api/v1/nope', 'text/html'],
      ['/assets/missing.js', 'text/html'],
      ['/certificates', 'application/json'],
    ]) {
      const r = await app.inject({ url, headers: { accept } });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().code, url).toBe('route.not_found');
    }
    const trpc = await app.inject({ url: '/trpc/nope.nope', headers: { accept: 'text/html' } });
    expect(trpc.statusCode).toBe(404);
    expect(trpc.json().error.data.code).toBe('NOT_FOUND');
    const post = await app.inject({ method: 'POST', url: '/certificates', headers: { accept: 'text/html' } });
    expect(post.statusCode).toBe(404);
  });

  it('leaves the API untouched: tRPC still answers with the API security headers', async () => {
    const r = await app.inject({ url: '/trpc/user.me' });
    expect(r.statusCode).toBe(401);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('explains how to build the console when it is not built', async () => {
    const r = await bare.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    const api = await bare.inject({ url: '/healthz' });
    expect(api.statusCode).toBe(200);
  });
});
