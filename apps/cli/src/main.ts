import { Command, CommanderError } from 'commander';

import { createCliContext, refuseJsonWithoutJson, reportError, usageErrorText } from './cli-context';
import { registerCommands } from './command-tree';

const program = new Command();
program
  .name('pkim')
  .description('PKI Manager: a self-hosted certificate authority')
  .version('0.1.0')
  .option('--data-dir <dir>', 'data directory (env PKIM_DATA_DIR, default ./data)')
  .option(
    '--database-url <url>',
    'postgres://… to use PostgreSQL (env PKIM_DATABASE_URL; default SQLite in the data dir)',
  )
  .option('--config <file>', 'config file: pkim.toml, .yaml or .json (env PKIM_CONFIG; env and flags override it)')
  .option('--json', 'machine-readable JSON output')
  .option('--server <url>', 'run against this server through its REST API (env PKIM_SERVER, or `pkim login`)')
  .option('--token <token>', 'API token for --server (env PKIM_TOKEN, or `pkim login`; the flag shows in ps)')
  .option('--ca-file <file>', 'PEM CA trusted for an https:// --server (env PKIM_CA_FILE)')
  .option('--local', 'ignore PKIM_SERVER and the login profile: use the local data directory')
  // commander's own errors (unknown option, missing argument…) in the one form: `error: <code>: <message>`, exit 2
  .configureOutput({ outputError: (text, write) => write(usageErrorText(text, process.argv.includes('--json'))) })
  .exitOverride();

const ctx = createCliContext(program);
// every command reads its configuration (config file, environment, flags) first and refuses an invalid one
program.hook('preAction', async (_program, command) => {
  refuseJsonWithoutJson(command, !!program.opts().json);
  const config = await ctx.loadConfig();
  // remote mode: the command runs through the server's REST API (loaded only then)
  if (config.remote) (await import('./remote/remote-mode')).useRemote(command, ctx, config.remote);
});
// only the modules of the command on the command line (the whole tree for --help, help and unknown commands)
await registerCommands(program, ctx, process.argv.slice(2));

let code = 0;
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // help / version exit 0; usage errors were already printed by commander
    code = e.exitCode === 0 ? 0 : 2;
  } else {
    code = reportError(e, !!program.opts().json);
  }
} finally {
  await ctx.close().catch(() => undefined);
}
// long-running commands (serve) keep the process alive themselves
if (code !== 0 || !(globalThis as { pkimKeepAlive?: boolean }).pkimKeepAlive) process.exitCode = code;
