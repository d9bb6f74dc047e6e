import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { parseHttpTimeoutMs, serverOptionsFromEnv, startServer, type RunningServer } from '@pkim/server';
import { tempDir } from '../../../tests/support/openssl-tools';

describe('HTTP connection timeouts (PKIM_HTTP_IDLE_TIMEOUT_MS, PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS)', () => {
  const running: RunningServer[] = [];
  const dirs: { dir: string; cleanup(): void }[] = [];
  const dataDir = () => {
    const d = tempDir('pkim-timeouts-');
    dirs.push(d);
    return d.dir;
  };
  afterAll(async () => {
    for (const r of running) await r.close();
    for (const d of dirs) d.cleanup();
  });

  it('resolves the settings from options and the environment and refuses bad values clearly', () => {
    expect(serverOptionsFromEnv({}, {})).toMatchObject({ idleTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
    expect(
      serverOptionsFromEnv({}, { PKIM_HTTP_IDLE_TIMEOUT_MS: '600000', PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000' }),
    ).toMatchObject({ idleTimeoutMs: 600_000, keepAliveTimeoutMs: 65_000 });
    expect(serverOptionsFromEnv({}, { PKIM_HTTP_IDLE_TIMEOUT_MS: '0' }).idleTimeoutMs).toBe(0);
    expect(serverOptionsFromEnv({ idleTimeoutMs: 1000 }, { PKIM_HTTP_IDLE_TIMEOUT_MS: '5' }).idleTimeoutMs).toBe(1000);
    for (const bad of ['soon', '-1', '1.5', '3600001']) {
      expect(() => serverOptionsFromEnv({}, { PKIM_HTTP_IDLE_TIMEOUT_MS: bad })).toThrow(
        new RegExp(`invalid PKIM_HTTP_IDLE_TIMEOUT_MS '${bad.replace('.', '\\.')}'.*milliseconds`),
      );
    }
    expect(() => serverOptionsFromEnv({}, { PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS: '0' })).toThrow(
      /PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS '0'/,
    );
    expect(parseHttpTimeoutMs(undefined, 7, 'x')).toBe(7);
  });

  it('applies them to the listening server: a silent connection is closed after the idle timeout', async () => {
    const r = await startServer({
      dataDir: dataDir(),
      port: 0,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      idleTimeoutMs: 300,
      keepAliveTimeoutMs: 1234,
      server: { backgroundJobs: false },
    });
    running.push(r);
    expect(r.app.server.timeout).toBe(300);
    expect(r.app.server.keepAliveTimeout).toBe(1234);
    const { port } = new URL(r.url);
    // a connection that sends nothing is closed by the server (the test waits for the close, it does not time it)
    const closedByServer = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closedByServer).toBe(true);

    const longer = await startServer({
      dataDir: dataDir(),
      port: 0,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      server: { backgroundJobs: false },
    });
    running.push(longer);
    expect(longer.app.server.timeout).toBe(30_000);
    expect(longer.app.server.keepAliveTimeout).toBe(5_000);
  });
});
