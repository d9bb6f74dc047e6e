import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { closedPort, startPkimServer } from '../../../tests/support/remote-server';
import { PKIM_BIN, REPO_ROOT, runPkimAsync } from '../../../tests/support/cli-runner';
import { tempDir } from '../../../tests/support/openssl-tools';
import { TEST_SERVE_ENV } from '../../../tests/support/test-kit';

/** `pkim serve` on 127.0.0.1, port 0, its banner as JSON log lines at warn: ready at its listening line */
const BANNER: [string[], Record<string, string>] = [
  ['--host', '127.0.0.1', '--log-level', 'warn'],
  { PKIM_LOG_LEVEL: 'warn' },
];
const serve = (dataDir: string) => startPkimServer(dataDir, ...BANNER, { json: false });

/** resolves at the first `data` event of `source` after which `holds()` (no timer: the test's timeout bounds it) */
const onData = (source: EventEmitter, holds: () => boolean) =>
  new Promise<void>((resolve) => {
    if (holds()) {
      resolve();
      return;
    }
    const check = () => {
      if (!holds()) return;
      source.off('data', check);
      resolve();
    };
    source.on('data', check);
  });

/**
 * `pkim serve` on a fresh data dir (a first boot), polled at `/healthz` from before it listens until it answers 200 —
 * what `until curl -sf …/healthz` in the docs' walk-throughs does; then `atFirst200` (the server not yet signalled).
 */
async function firstBootUntilHealthy<T>(dataDir: string, children: ChildProcess[], atFirst200: () => T) {
  const port = await closedPort();
  const child = spawn(process.execPath, [PKIM_BIN, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PKIM_LOG_LEVEL: 'info',
      PKIM_JOBS_INTERVAL_MS: '600000',
      ...TEST_SERVE_ENV,
      PKIM_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
  const statuses = new Set<number>();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pkim serve exited:\n${out}\n${err}`);
    const status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => undefined, // not listening yet
    );
    if (status !== undefined) statuses.add(status);
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 5)); // the next probe (a poll interval, not a deadline)
  }
  const seen = atFirst200();
  return { child, port, seen, statuses, exited, output: () => ({ out, err }) };
}

/** the users the data dir's database holds, read beside the running server */
function usersOf(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'pkim.db'), { readonly: true });
  try {
    return (db.prepare('select username from users').all() as { username: string }[]).map((u) => u.username);
  } finally {
    db.close();
  }
}

describe('pkim serve', { timeout: 300_000 }, () => {
  const tmp = tempDir('pkim-serve-');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  it('prints the one-time admin credential on first boot only; finishes an in-flight request on SIGTERM', async () => {
    // at info: its log's 'shutting down' (on stderr) says when SIGTERM has begun the close
    const info = { PKIM_LOG_LEVEL: 'info' };
    const first = await startPkimServer(tmp.dir, ['--host', '127.0.0.1', '--log-level', 'info'], info, { json: false });
    children.push(first.child);
    let log = '';
    first.child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    // stdout is a pipe, not a terminal: the banner is JSON lines like the logs, nothing else
    const lines = first
      .output()
      .split('\n')
      .filter((l) => l.trim());
    const records = lines.map((l) => JSON.parse(l) as { msg: string; username?: string; oneTimePassword?: string });
    const boot = records.find((r) => r.oneTimePassword);
    expect(boot?.username).toBe('admin');
    const password = boot?.oneTimePassword;
    expect(password).toBeTruthy();
    expect(records.some((r) => r.msg.startsWith('pkim listening on http://127.0.0.1:'))).toBe(true);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    // the start-up message links the API documentation, and it is there
    const docs = first
      .output()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { apiDocs?: string })
      .find((r) => r.apiDocs);
    expect(docs?.apiDocs).toBe(`${first.url}/api/docs`);
    expect((await fetch(docs!.apiDocs!)).status).toBe(200);
    // Swagger UI's files come from beside the bundle (dist/api-docs), not from swagger-ui-dist
    const swaggerUi = await fetch(`${first.url}/api/docs/swagger-ui-bundle.js`);
    expect(swaggerUi.status).toBe(200);
    expect(await swaggerUi.text()).toContain('SwaggerUIBundle');

    // the credential works
    const login = await fetch(`${first.url}/trpc/user.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);

    // an OCSP request whose body is still arriving when SIGTERM comes: the server has its headers (it answers the
    // `Expect: 100-continue` as it hands the request on), then SIGTERM, then the rest once it says it is shutting down
    const { port } = new URL(first.url);
    const body = Buffer.from('3003020100', 'hex'); // not a valid OCSP request: answered as malformedRequest
    const sock = connect(Number(port), '127.0.0.1');
    let response = '';
    sock.on('data', (d) => {
      response += d.toString('latin1');
    });
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    await new Promise<void>((r) => sock.on('connect', () => r()));
    sock.write(
      [
        'POST /ocsp HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/ocsp-request',
        `Content-Length: ${body.length}`,
        'Expect: 100-continue',
        'Connection: close',
        '',
        '',
      ].join('\r\n'),
    );
    sock.write(body.subarray(0, 2));
    await onData(sock, () => response.includes('\r\n\r\n'));
    expect(response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    first.child.kill('SIGTERM');
    await onData(first.child.stderr!, () => log.includes('"msg":"shutting down"'));
    sock.write(body.subarray(2));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
    expect(response).toMatch(/content-type: application\/ocsp-response/i);
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/pkim stopped/);

    const second = await serve(tmp.dir);
    children.push(second.child);
    expect(second.output()).not.toMatch(/password/i);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('first boot: /healthz answers 200 only once the administrator exists and its password is out', async () => {
    const dir = tempDir('pkim-serve-ready-');
    try {
      const s = await firstBootUntilHealthy(dir.dir, children, () => usersOf(dir.dir));
      // before: /healthz answered as soon as the server listened, before the administrator was made
      expect(s.seen).toEqual(['admin']);
      expect([...s.statuses].filter((x) => x !== 503 && x !== 200)).toEqual([]); // 503 `starting` until then
      expect((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited).toEqual([0, null]);
      expect(s.output().out).toMatch(/"oneTimePassword":"[^"]{12,}"/);
    } finally {
      dir.cleanup();
    }
  });

  it('SIGTERM as soon as /healthz first answers: a graceful stop (exit 0, "shutting down"), password out', async () => {
    const dir = tempDir('pkim-serve-early-term-');
    try {
      const s = await firstBootUntilHealthy(dir.dir, children, () => undefined);
      s.child.kill('SIGTERM');
      // before: the handlers came after the administrator and the banner — the signal's default action killed it
      const [code, signal] = await s.exited;
      const { out, err } = s.output();
      expect([code, signal], `${out}\n${err}`).toEqual([0, null]);
      expect(err).toContain('"msg":"shutting down"');
      expect(out).toMatch(/"oneTimePassword":"[^"]{12,}"/);
      expect(out).toMatch(/pkim stopped/);
    } finally {
      dir.cleanup();
    }
  });

  it('a port in use: server.listen_failed naming it (exit 7); the next start shows the first password', async () => {
    const taken = tempDir('pkim-serve-taken-');
    const fresh = tempDir('pkim-serve-fresh-');
    try {
      const holder = await startPkimServer(taken.dir, ...BANNER);
      children.push(holder.child);
      const { port } = new URL(holder.url);
      const refused = await runPkimAsync(['serve', '--host', '127.0.0.1', '--port', port], {
        dataDir: fresh.dir,
        env: { PKIM_LOG_LEVEL: 'silent' },
      });
      expect(refused.code, refused.stderr).toBe(7);
      expect(refused.stderr.trim().split('\n')).toEqual([
        `error: server.listen_failed: cannot listen on 127.0.0.1:${port}: the address is in use ` +
          '(another pkim serve?): stop it, or choose another --port / PKIM_PORT (0 = any free port)',
      ]);
      // that start made no administrator whose one-time password nobody saw: the next one is the first boot
      const next = await startPkimServer(fresh.dir, ...BANNER);
      children.push(next.child);
      const line = JSON.parse(next.output().trim().split('\n')[0]!) as {
        bootstrapAdmin: { username: string; password: string } | null;
      };
      expect(line.bootstrapAdmin?.username).toBe('admin');
      const login = await fetch(`${next.url}/trpc/user.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: line.bootstrapAdmin?.password }),
      });
      expect(login.status).toBe(200);
      for (const s of [holder, next]) await s.stop();
    } finally {
      taken.cleanup();
      fresh.cleanup();
    }
  });

  it('with --json prints one JSON line with the URL and, on first boot only, the admin credential', async () => {
    const dir = tempDir('pkim-serve-json-');
    try {
      // `--json`: ready at its one line, read as the server printed it
      const start = async () => {
        const server = await startPkimServer(dir.dir, ...BANNER);
        children.push(server.child);
        return {
          ...server,
          line: JSON.parse(server.output().trim().split('\n')[0]!) as {
            url: string;
            bootstrapAdmin: { username: string; password: string } | null;
          },
        };
      };
      const first = await start();
      expect(first.line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.line.bootstrapAdmin?.username).toBe('admin');
      expect(first.line.bootstrapAdmin?.password.length).toBeGreaterThan(12);
      expect((await fetch(`${first.line.url}/healthz`)).status).toBe(200);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = await start();
      expect(second.line.bootstrapAdmin).toBeNull();
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      dir.cleanup();
    }
  });

  it('logs piped away, stdout a terminal: the password once as text there; the log says so without it', async () => {
    // `script` gives the server a terminal for stdout (stdin too); its stderr goes to a file, as `2>server.log` does
    const dir = tempDir('pkim-serve-tty-');
    try {
      const log = join(dir.dir, 'server.log');
      const pidFile = join(dir.dir, 'pid');
      const command =
        `echo $$ > '${pidFile}'; exec '${process.execPath}' '${PKIM_BIN}' serve --host 127.0.0.1 --port 0 ` +
        `2> '${log}'`;
      const child = spawn('script', ['-qefc', command, '/dev/null'], {
        env: { ...process.env, PKIM_DATA_DIR: join(dir.dir, 'data'), PKIM_LOG_LEVEL: 'info' },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      let terminal = '';
      child.stdout.on('data', (d: Buffer) => (terminal += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      await onData(child.stdout, () => /pkim listening on http:\/\/127\.0\.0\.1:\d+/.test(terminal));
      // the banner as text (not JSON) on the terminal, the password in it once
      const password = /^ {2}password: (\S+)\r?$/m.exec(terminal)?.[1];
      expect(terminal, terminal).toContain(
        'First boot: created the administrator account. This password is shown ONCE:',
      );
      expect(password).toBeTruthy();
      expect(terminal.split(password!).length - 1).toBe(1);
      expect(terminal).not.toContain('{"level"');
      const url = /pkim listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(terminal)![1]!;
      const login = await fetch(`${url}/trpc/user.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
      await exited;
      // the log: JSON lines only, the first boot noted with where the password went, the password never
      const records = readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { msg: string; username?: string });
      expect(records.find((r) => r.msg.startsWith('first boot:'))).toMatchObject({
        username: 'admin',
        msg:
          'first boot: created the administrator account; its one-time password is printed once on stdout, ' +
          'never logged',
      });
      expect(readFileSync(log, 'utf8')).not.toContain(password);
    } finally {
      dir.cleanup();
    }
  });
});
