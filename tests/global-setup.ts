// Global test setup: makes sure the Debian test peers exist (fails loudly otherwise).
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  for (const bin of ['openssl', 'certtool', 'go']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `test peer '${bin}' is missing: run scripts/install-test-peers.sh (npm test does this in its pretest step)`,
      );
    }
  }
}
