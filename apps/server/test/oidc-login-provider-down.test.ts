// `pkim serve` with PKIM_OIDC_ISSUER naming a provider nobody answers at: the console's "Sign in with …" link
// (GET /auth/oidc/login) goes back to the sign-in page with the code it explains (docs/oidc.md), instead of a JSON 503
// in the browser; with OIDC off the route stays a 404 (authorization-matrix).
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PKIM_BIN, runPkim } from '../../../tests/support/cli-runner';
import { freePort } from '../../../tests/support/doc-script';
import { tempDir } from '../../../tests/support/openssl-tools';

describe('OIDC sign-in start with the provider down', () => {
  it('redirects GET /auth/oidc/login to /login?error=auth.oidc_provider_unavailable', async () => {
    const tmp = tempDir('pkim-oidc-down-');
    const dataDir = join(tmp.dir, 'data');
    const [port, deadPort] = [await freePort(), await freePort()];
    expect(runPkim(['init'], { dataDir }).code).toBe(0);
    const server = spawn(process.execPath, [PKIM_BIN, 'serve'], {
      env: {
        ...process.env,
        PKIM_DATA_DIR: dataDir,
        PKIM_PORT: String(port),
        PKIM_LOG_LEVEL: 'warn',
        PKIM_OIDC_ISSUER: `http://127.0.0.1:${deadPort}`,
        PKIM_OIDC_CLIENT_ID: 'pkim',
      },
      stdio: 'ignore',
    });
    const exited = once(server, 'exit');
    try {
      const base = `http://127.0.0.1:${port}`;
      for (;;) {
        const up = await fetch(`${base}/healthz`)
          .then((r) => r.ok)
          .catch(() => false);
        if (up) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const r = await fetch(`${base}/auth/oidc/login?returnTo=/`, { redirect: 'manual' });
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe('/login?error=auth.oidc_provider_unavailable');
      expect(r.headers.get('set-cookie')).toBeNull();
    } finally {
      server.kill('SIGKILL');
      await exited;
      tmp.cleanup();
    }
  }, 120_000);
});
