// `npm run kmip:pykmip [-- --dir DIR] [--port N] [--settings-file FILE]`: a PyKMIP server (Debian python3-pykmip, run
// with /usr/bin/python3) on 127.0.0.1 for trying the kmip backend by hand (docs/key-custody.md, "PyKMIP from a
// checkout"). It makes a CA, a server and a client certificate with openssl, starts PyKMIP with mutual TLS (TLS 1.2),
// prints the PKIM_KMIP_* settings to use as `export` lines (and writes them to FILE, whole or not at all), and runs
// until it is stopped (Ctrl-C, SIGTERM), stopping PyKMIP with it. With --dir the certificates, the key database and
// the port are kept there, and the next start serves the same keys at the same URL; without it, everything is in a
// temporary directory removed at the stop. Not for production: the certificates are throwaway ones. The npm script
// `exec`s node, so a SIGTERM to `npm run`'s pid reaches this process (a shell in between would not pass it on).
import { renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startPyKmip } from '../tests/support/pykmip';

const USAGE = 'usage: npm run kmip:pykmip [-- --dir DIR] [--port N] [--settings-file FILE]';

function options(): { dir?: string; port?: number; envFile?: string } {
  try {
    const { values } = parseArgs({
      options: { dir: { type: 'string' }, port: { type: 'string' }, 'settings-file': { type: 'string' } },
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new Error(`--port must be a port number, got '${values.port}'`);
    }
    // relative to where `npm run` was typed (npm runs the script in the checkout's root)
    const here = process.env.INIT_CWD ?? process.cwd();
    return {
      ...(values.dir ? { dir: resolve(here, values.dir) } : {}),
      ...(port ? { port } : {}),
      ...(values['settings-file'] ? { envFile: resolve(here, values['settings-file']) } : {}),
    };
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const opts = options();
  const server = await startPyKmip(opts);
  const settings = [
    `export PKIM_KMIP_URL=${server.url}`,
    `export PKIM_KMIP_CA=${join(server.dir, 'ca.crt')}`,
    `export PKIM_KMIP_CLIENT_CERT=${join(server.dir, 'client.crt')}`,
    `export PKIM_KMIP_CLIENT_KEY=${join(server.dir, 'client.key')}`,
    '',
  ].join('\n');
  if (opts.envFile) {
    writeFileSync(`${opts.envFile}.tmp`, settings);
    renameSync(`${opts.envFile}.tmp`, opts.envFile);
  }
  process.stdout.write(`# PyKMIP on 127.0.0.1:${server.port} (${server.dir}), pid ${process.pid}; Ctrl-C stops it\n`);
  process.stdout.write(settings);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  // and when whatever started it is gone without a signal (npm killed with SIGKILL): PyKMIP runs in its own process
  // group, and would outlive it
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000);
}

main().catch((e: unknown) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
