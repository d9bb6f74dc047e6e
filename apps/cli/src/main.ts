// The `pkim` binary (the compiled CLI's entry, scripts/build.mjs): one run of the command line (run.ts) with the
// process's streams and environment. A long-running command (`pkim serve`) keeps the process alive itself.
import { processIo } from './cli-io';
import { run } from './run';

// a reader that stops early (`pkim ca create --help | head`, `pkim cert list | grep -m1 …`) closes the pipe: what is
// left of the output has nowhere to go and is dropped, as other command-line tools do — before, Node threw the write's
// EPIPE as an unhandled 'error' event (a stack trace, exit 1) whenever the reader was gone before the last write
const dropWhenClosed = (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
};
process.stdout.on('error', dropWhenClosed);

process.exitCode = await run(process.argv.slice(2), processIo());
