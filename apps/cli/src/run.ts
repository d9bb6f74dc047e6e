import { Command, CommanderError } from 'commander';

import { createCliContext, refuseJsonWithoutJson, reportError, usageErrorText } from './cli-context';
import { withCliIo, type CliIo } from './cli-io';
import { registerCommands } from './command-tree';
import { nameInputFile } from './input-files';
import { checkOutputFiles } from './output-files';

/**
 * One run of `pkim <argv>` (argv: the arguments after `pkim`): the command's output on io.stdout, errors on
 * io.stderr, the exit code returned. Everything it keeps is its own — the commander program, the CLI context and the
 * authority it opens (closed before it returns) — so runs can follow one another in one process (the binary's
 * main.ts runs one; tests/support/cli-in-process.ts many). A long-running command (`serve`, `keystore run`)
 * returns once it is started, leaving its server or scheduler running (ctx.keepAlive()).
 */
export function run(argv: string[], io: CliIo): Promise<number> {
  return withCliIo(io, () => runIn(argv, io));
}

async function runIn(argv: string[], io: CliIo): Promise<number> {
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
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(usageErrorText(text, argv.includes('--json'))),
    })
    .exitOverride();

  const ctx = createCliContext(program, io);
  // every command reads its configuration (config file, environment, flags) first and refuses an invalid one
  /** the command about to run: its input files are named in an error about their content */
  let running: Command | undefined;
  program.hook('preAction', async (_program, command) => {
    running = command;
    refuseJsonWithoutJson(command, !!program.opts().json);
    // a file the command may not replace: refused before anything is done (README: Files the CLI writes)
    checkOutputFiles(command);
    const config = await ctx.loadConfig();
    // remote mode: the command runs through the server's REST API (loaded only then)
    if (config.remote) (await import('./remote/remote-mode')).useRemote(command, ctx, config.remote);
  });
  // only the modules of the command on the command line (the whole tree for --help, help and unknown commands)
  await registerCommands(program, ctx, argv);

  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
    ctx.releaseFailures();
    code = ctx.exitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version exit 0; usage errors were already printed by commander
      code = e.exitCode === 0 ? 0 : 2;
    } else {
      // the authority's log record of this error is not written too: a user reads each failure once
      ctx.releaseFailures(e);
      code = reportError(nameInputFile(e, running), !!program.opts().json, io);
    }
  } finally {
    ctx.releaseFailures();
    await ctx.close().catch(() => undefined);
  }
  return code;
}
