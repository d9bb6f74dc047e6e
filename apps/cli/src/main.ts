// The `pkim` binary (the compiled CLI's entry, scripts/build.mjs): one run of the command line (run.ts) with the
// process's streams and environment. A long-running command (`pkim serve`) keeps the process alive itself.
import { processIo } from './cli-io';
import { run } from './run';

process.exitCode = await run(process.argv.slice(2), processIo());
