// docs/notifications.md's walk-through, executed verbatim (tests/support/doc-script.ts) with a free port for its
// receiver: an expiry rule with a name pattern, a certificate inside it and one outside, `pkim notify run` twice, and
// a Python receiver on 127.0.0.1 that verifies each webhook with the page's own Python verify() — the one the page
// shows under "Verifying a webhook", byte for byte.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { freePort, markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/notifications.md';

describe('docs/notifications.md walk-through', () => {
  it('runs verbatim: one signed expiry warning, verified by the page’s verify(), once', async () => {
    for (const bin of ['bash', 'jq', 'python3']) requireBinary(bin);
    const doc = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const script = markedBashBlock(doc, 'notifications-walkthrough', DOC);
    // the receiver's verify() is the page's Python example, so that example is what this walk runs
    const example = /### Verifying a webhook[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toMatch(/^import hmac, hashlib, time\ndef verify\(/);
    expect(script).toContain(example!.slice(example!.indexOf('def verify(')));

    const tmp = tempDir('pkim-notify-walk-');
    try {
      const run = await runDocScript(tmp.dir, script, 240_000, { HOOK_PORT: String(await freePort()) });
      expect(run.code, run.out).toBe(0);
      expect(run.out.match(/^enqueued .*$/gm)).toEqual([
        'enqueued 1, delivered 1, retrying 0, failed 0',
        'enqueued 0, delivered 0, retrying 0, failed 0',
      ]);
      expect(readFileSync(join(run.work, 'deliveries.txt'), 'utf8')).toBe(
        'certificate.expiring shop.example.com daysBefore 30 verified\n',
      );
      expect(run.out).toMatch(/tls-expiry +certificate\.expiring +crt_\w+ +delivered +1 /);
      // the secret was printed once, into rule.json, and is in no other output of the walk
      const secret = (JSON.parse(readFileSync(join(run.work, 'rule.json'), 'utf8')) as { secret: string }).secret;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(run.out).not.toContain(secret);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
