// `npm run oidc:dev-provider [-- --port N] [--console-url URL] [--settings-file FILE]`: a local OpenID provider on
// 127.0.0.1 for trying the console's OIDC sign-in from a checkout (docs/oidc.md, "Trying it with a local provider") —
// tests/support/oidc-dev-provider.ts, what the OIDC e2e tests sign in through. It registers pkim's client, whose
// redirect URI is pkim's (`--console-url`, default http://127.0.0.1:$PKIM_PORT, 8200 without it; `localhost` is
// registered too), and a second one, other-app, whose ID tokens pkim's may ask for (docs/oidc.md, "Troubleshooting"),
// prints its issuer URL, client id and a fresh client secret as PKIM_OIDC_* `export` lines (and writes them to
// FILE, whole or not at all, once it listens), and runs until it is stopped (Ctrl-C, SIGTERM). FOR TRYING PKIM OUT,
// NOT FOR PRODUCTION: its accounts (alice, bob, carol, eve) sign in with any password. The npm script `exec`s node,
// so a SIGTERM to `npm run`'s pid reaches this process.
import { createServer } from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createDevProvider,
  DEV_ACCOUNTS,
  DEV_PEER_CLIENT_ID,
  DEV_PEER_SCOPE,
} from '../tests/support/oidc-dev-provider';

const USAGE = 'usage: npm run oidc:dev-provider [-- --port N] [--console-url URL] [--settings-file FILE]';

function options(): { port: number; consoleUrl: string; envFile?: string } {
  try {
    const { values } = parseArgs({
      options: { port: { type: 'string' }, 'console-url': { type: 'string' }, 'settings-file': { type: 'string' } },
    });
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
      throw new Error(`--port must be a port number, got '${values.port}'`);
    }
    const consoleUrl = values['console-url'] ?? `http://127.0.0.1:${process.env.PKIM_PORT || '8200'}`;
    if (!/^https?:\/\/[^/]+\/?$/.test(consoleUrl)) {
      throw new Error(`--console-url must be pkim's base URL (http://host:port), got '${consoleUrl}'`);
    }
    // relative to where `npm run` was typed (npm runs the script in the checkout's root)
    const here = process.env.INIT_CWD ?? process.cwd();
    return {
      port,
      consoleUrl: consoleUrl.replace(/\/$/, ''),
      ...(values['settings-file'] ? { envFile: resolve(here, values['settings-file']) } : {}),
    };
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const opts = options();
  let handler: Parameters<typeof createServer>[1] = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, '127.0.0.1', ok);
  });
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const consoleUrls = [opts.consoleUrl, opts.consoleUrl.replace('//127.0.0.1:', '//localhost:')];
  const provider = createDevProvider({ issuer, consoleUrls: [...new Set(consoleUrls)] });
  handler = provider.handler;
  const settings = [
    `export PKIM_OIDC_ISSUER=${issuer}`,
    `export PKIM_OIDC_CLIENT_ID=${provider.clientId}`,
    `export PKIM_OIDC_CLIENT_SECRET=${provider.clientSecret}`,
    '',
  ].join('\n');
  if (opts.envFile) {
    writeFileSync(`${opts.envFile}.tmp`, settings, { mode: 0o600 });
    renameSync(`${opts.envFile}.tmp`, opts.envFile);
  }
  const accounts = Object.entries(DEV_ACCOUNTS)
    .filter(([name]) => name !== 'admin')
    .map(([name, a]) => `${name} (groups: ${a.groups.join(', ')})`)
    .join('; ');
  process.stdout.write(
    [
      `# A local OpenID provider FOR TRYING PKIM OUT, NOT FOR PRODUCTION: any password signs its accounts in.`,
      `# issuer ${issuer}, pid ${process.pid}; Ctrl-C stops it.`,
      `# redirect URI registered: ${consoleUrls[0]}/auth/oidc/callback`,
      `# accounts: ${accounts}`,
      `# a second client, ${DEV_PEER_CLIENT_ID}: scope ${DEV_PEER_SCOPE} asks for an ID token issued for it`,
      '',
    ].join('\n'),
  );
  process.stdout.write(settings);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  // and when whatever started it is gone without a signal (npm killed with SIGKILL): do not outlive it
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000).unref();
}

main().catch((e: unknown) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
