/**
 * The SPIFFE contract commands through the real `pkim` CLI, against a real `pkim serve` on the same data directory:
 * `pkim spiffe init --trust-domain <td> --json` (idempotent), `pkim token create --scope spiffe:sign
 * --spiffe-allow … --json` gives the Bearer token of `POST /pki/csr/sign`, `pkim spiffe deny/allow`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@pkim/server';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { opensslVerify } from '../../../tests/support/verifiers';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';

const SLOW = 180_000;
let work: string;
let dataDir: string;
let server: RunningServer;
const pkim = (...args: string[]) => runPkimAsync(args, { dataDir, cwd: work });
const ok = async (...args: string[]) => {
  const r = await pkim(...args);
  if (r.code !== 0) throw new Error(`pkim ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pkim-spiffe-cli-'));
  dataDir = join(work, 'data');
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logLevel: 'silent',
    handleSignals: false,
    print: () => undefined,
    server: { backgroundJobs: false, rateLimit: false, console: false },
  });
}, SLOW);
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

async function signSvid(token: string, serviceType: string, instanceId: string) {
  const r = await fetch(`${server.url}/pki/csr/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ csrPem: svidCsr(spiffeIdFor(serviceType, instanceId)).csrPem, serviceType, instanceId }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('pkim spiffe / pkim token (contract commands)', () => {
  it(
    'initialises idempotently, refuses a bad trust domain with one error line, and creates a workload token',
    async () => {
      const first = (await ok('spiffe', 'init', '--trust-domain', TD, '--json')).json();
      expect(first).toMatchObject({ trustDomain: TD, created: ['root', 'services', 'transport'] });
      const again = (await ok('spiffe', 'init', '--trust-domain', TD, '--json')).json();
      expect(again).toEqual({ ...first, created: [] });

      const other = await pkim('spiffe', 'init', '--trust-domain', 'other.org');
      expect(other.code).not.toBe(0);
      expect(other.stderr.trim().split('\n')).toHaveLength(1);
      expect(other.stderr.trim()).toBe(
        `error: spiffe.trust_domain_mismatch: SPIFFE is already initialised for trust domain ${TD}, not other.org`,
      );
      // with --json the error is the contract's JSON on stderr: code, message and the (public) trust domain it is
      // initialised for — nothing else (no key URIs, ids or certificates); nothing on stdout
      const otherJson = await pkim('spiffe', 'init', '--trust-domain', 'other.org', '--json');
      expect(otherJson.code).toBe(other.code);
      expect(otherJson.stdout).toBe('');
      expect(JSON.parse(otherJson.stderr)).toEqual({
        error: {
          code: 'spiffe.trust_domain_mismatch',
          message: `SPIFFE is already initialised for trust domain ${TD}, not other.org`,
          details: { trustDomain: TD },
        },
      });
      const bad = await pkim('spiffe', 'init', '--trust-domain', 'Not A Domain!');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/^error: spiffe\.invalid_trust_domain: /);

      const token = (
        await ok('token', 'create', '--name', 'workers', '--scope', 'spiffe:sign', '--spiffe-allow', 'node/worker-*')
      ).stdout.trim();
      // --json gives the same shape as the API
      const tokenJson = (
        await ok('token', 'create', '--name', 'gw', '--scope', 'spiffe:sign', '--spiffe-allow', 'gateway/*', '--json')
      ).json();
      expect(tokenJson.token).toMatch(/^pkim_/);

      const secret = token.split('\n').find((l) => l.startsWith('pkim_')) ?? token;
      const signed = await signSvid(secret, 'node', 'worker-1');
      expect(signed.status, JSON.stringify(signed.body)).toBe(200);
      const bundle = (await (await fetch(`${server.url}/pki/ca/bundle`)).json()) as { servicesBundle: string[] };
      const v = opensslVerify({
        leafPem: signed.body.certificatePem as string,
        chainPems: signed.body.chain as string[],
        rootPem: bundle.servicesBundle.at(-1)!,
        purpose: 'sslclient',
      });
      expect(v.ok, v.output).toBe(true);
      const outside = await signSvid(secret, 'node', 'db-1');
      expect([outside.status, outside.body.code]).toEqual([403, 'spiffe.identity_not_allowed']);
      const gw = await signSvid(tokenJson.token as string, 'gateway', 'edge');
      expect(gw.status).toBe(200);
    },
    SLOW,
  );

  it(
    'status after rotate shows every CA of the bundle: the new services CA current, the old one superseded and until ' +
      'when it stays (its SVIDs chain to it)',
    async () => {
      const token = (await ok('token', 'create', '--name', 'rotate-test', '--scope', 'spiffe:sign', '--json')).json<{
        token: string;
      }>().token;
      const before = await signSvid(token, 'orchestrator', 'o-1');
      expect(before.status).toBe(200);
      const rot = (await ok('spiffe', 'rotate', 'services', '--json')).json<{ oldCaId: string; newCaId: string }>();
      const json = (await ok('spiffe', 'status', '--json')).json<{
        bundleCas: { id: string; name: string; role: string; state: string; inBundleUntil: string | null }[];
      }>();
      const services = json.bundleCas.filter((c) => c.role === 'services');
      expect(services.map((c) => [c.id, c.state])).toEqual([
        [rot.newCaId, 'current'],
        [rot.oldCaId, 'superseded'],
      ]);
      // the old CA stays as long as the SVIDs it signed: the last of them is the one just issued
      expect(services[1]!.inBundleUntil).toBe(before.body.expiresAt);
      // the published bundle: the same CAs (each plane's intermediates, then the root)
      const bundle = (await (await fetch(`${server.url}/pki/ca/bundle`)).json()) as { servicesBundle: string[] };
      expect(bundle.servicesBundle).toHaveLength(3);
      expect(bundle.servicesBundle).toContain((before.body.chain as string[])[0]);

      const text = (await ok('spiffe', 'status')).stdout;
      const [oldName, newName] = [services[1]!.name, services[0]!.name];
      expect(text).toContain(`services CA ${newName}: current, expires `);
      expect(text).toMatch(
        new RegExp(
          `^services CA ${oldName}: superseded, in the bundle until ${String(before.body.expiresAt)}, expires \\S+, ` +
            `\\d+ unexpired SVID\\(s\\) chain to it$`,
          'm',
        ),
      );
      expect(text.match(/^(root|services|transport) CA /gm)).toHaveLength(json.bundleCas.length);
    },
    SLOW,
  );

  it(
    'denies an identity (its SVIDs listed as still valid), refuses it over HTTP, and allows it again',
    async () => {
      const token = (await ok('token', 'create', '--name', 'deny-test', '--scope', 'spiffe:sign', '--json')).json<{
        token: string;
      }>().token;
      const before = await signSvid(token, 'auth', 'a-1');
      expect(before.status).toBe(200);
      const id = spiffeIdFor('auth', 'a-1');
      const denied = (await ok('spiffe', 'deny', id, '--reason', 'compromised', '--json')).json();
      expect(denied).toMatchObject({ spiffeId: id, reason: 'compromised' });
      expect(denied.currentCertificates.map((c: { serial: string }) => c.serial)).toEqual([before.body.serial]);
      const list = (await ok('spiffe', 'denied', '--json')).json();
      expect(list.items.map((d: { spiffeId: string }) => d.spiffeId)).toEqual([id]);
      expect(list.nextCursor).toBeNull();
      const refused = await signSvid(token, 'auth', 'a-1');
      expect([refused.status, refused.body.code]).toEqual([403, 'spiffe.identity_denied']);

      const bad = await pkim('spiffe', 'deny', 'https://not-spiffe/x', '--reason', 'x');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^error: spiffe\.invalid_id: /);

      expect((await ok('spiffe', 'allow', id, '--json')).json()).toEqual({ spiffeId: id, wasDenied: true });
      expect((await ok('spiffe', 'denied', '--json')).json()).toEqual({ items: [], nextCursor: null });
      expect((await signSvid(token, 'auth', 'a-1')).status).toBe(200);
    },
    SLOW,
  );
});
