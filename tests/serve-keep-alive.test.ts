// A `pkim serve` child process that a test talks to keeps idle sockets as long as the test may be blocked: the test's
// loop stops for seconds in spawnSync verifiers and key generators under load, while the child's keep-alive timer runs
// on time. At the production 5 s, node:http's agent (axios, so node-vault: node-vault-compat.test.ts sends a request
// right after opensslVerify) writes the next request on the pooled socket the server closed meanwhile, before its loop
// has read the close: "socket hang up" (ECONNRESET), every time. undici's fetch reads the close first and reconnects.
// The fix: TEST_SERVE_ENV (tests/support/test-kit.ts), which startPkimServer and every `pkim serve` spawn pass.
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPkimServer, type PkimServer } from './support/remote-server';
import { tempDir } from './support/openssl-tools';
import { TEST_KEEP_ALIVE_MS } from './support/test-kit';

/** GET through node:http's global agent (keep-alive since Node 19), as axios and so node-vault do */
function httpGet(url: string): Promise<{ status: number; keepAlive: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, keepAlive: res.headers['keep-alive']?.toString() }));
    }).on('error', reject);
  });
}

/** blocks this thread's event loop for `ms`, as a spawnSync openssl/certtool/Go run does under load */
const blockLoop = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('a `pkim serve` started by the tests (tests/support/remote-server.ts)', () => {
  const tmp = tempDir('pkim-keep-alive-');
  let server: PkimServer | undefined;
  beforeAll(async () => {
    server = await startPkimServer(tmp.dir, [], {});
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('answers a request on a pooled socket after the loop was blocked past the 5 s production keep-alive', async () => {
    expect(await httpGet(`${server!.url}/healthz`)).toEqual({
      status: 200,
      keepAlive: `timeout=${TEST_KEEP_ALIVE_MS / 1000}`,
    });
    blockLoop(6_000);
    expect((await httpGet(`${server!.url}/healthz`)).status).toBe(200);
  }, 60_000);
});
