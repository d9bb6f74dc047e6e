// `pkim … | head`: the reader is gone before pkim writes. The compiled CLI drops the rest of its output and exits
// with its own code, without a stack trace (before: "Error: write EPIPE", an unhandled 'error' event, exit 1).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PKIM_BIN } from '../../../tests/support/cli-runner';

/** runs pkim with its stdout a pipe whose reading end is closed at once; its exit code and stderr */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PKIM_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader leaves before the first line (pkim takes far longer to start)
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('pkim with a reader that stopped reading (| head)', () => {
  it('--help exits 0 with nothing on stderr', async () => {
    for (const args of [['ca', 'create', '--help'], ['--help'], ['cert', '--help']]) {
      const r = await withClosedStdout(args);
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled/);
      expect(r.code, args.join(' ')).toBe(0);
    }
  }, 120_000);
});
