// Issue #11 item 6: `npm start` forwards signals — SIGTERM to npm stops the server (no orphaned process, the port is
// closed). Runs the real `npm start` (scripts/start.mjs) with PKIM_START_BIN = the compiled CLI of this test run, so
// nothing is built.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PKIM_BIN, REPO_ROOT } from './support/cli-runner';
import { tempDir } from './support/openssl-tools';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('npm start', () => {
  const tmp = tempDir('pkim-npm-start-');
  const pids: number[] = [];
  afterAll(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    tmp.cleanup();
  });

  it('SIGTERM to npm stops the server: its process is gone and the port is closed', async () => {
    const npm = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', '0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PKIM_START_BIN: PKIM_BIN, PKIM_DATA_DIR: tmp.dir, PKIM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pids.push(npm.pid!);
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    const started = Date.now();
    // stdout is not a terminal: the banner is JSON lines carrying the server's pid
    let listening: { pid: number; url: string } | undefined;
    while (!listening) {
      if (npm.exitCode !== null) throw new Error(`npm start exited early:\n${out}`);
      if (Date.now() - started > 60_000) throw new Error(`npm start did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
      listening = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { pid: number; url?: string; msg: string })
        .find((r) => r.msg.startsWith('pkim listening on') && r.url) as { pid: number; url: string } | undefined;
    }
    const server = listening.pid;
    pids.push(server);
    const port = Number(new URL(listening.url).port);
    expect(server).not.toBe(npm.pid);
    expect(alive(server)).toBe(true);
    expect(await portOpen(port)).toBe(true);

    npm.kill('SIGTERM');
    await npmExited;
    const deadline = Date.now() + 30_000;
    while (alive(server) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(server), `the server (pid ${server}) outlived npm:\n${out}`).toBe(false);
    expect(await portOpen(port)).toBe(false);
    expect(out).toMatch(/pkim stopped/);
  });
});
