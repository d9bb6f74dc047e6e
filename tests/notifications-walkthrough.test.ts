// docs/notifications.md's walk-through, executed verbatim (tests/support/doc-script.ts) with a free port for its
// receiver: an expiry rule with a name pattern, a certificate inside it and one outside, `pkim notify run` twice, and
// a Python receiver on 127.0.0.1 that verifies each webhook with the page's own Python verify() — the one the page
// shows under "Verifying a webhook", byte for byte. Then the page's JavaScript verify() (the `js` block there, loaded
// as a module) checks a real delivery: a Node receiver on the rule's port, one more certificate, `pkim notify run`.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, runPkimAsync } from './support/cli-runner';
import { freePort, markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/notifications.md';

type Verify = (secret: string, headers: IncomingHttpHeaders, rawBody: Buffer, nowSeconds?: number) => boolean;

/** the page's JavaScript example (```js under "Verifying a webhook") as a module exporting its verify() */
async function pageJsVerify(doc: string, dir: string): Promise<Verify> {
  const js = /### Verifying a webhook[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(js).toMatch(/^import \{ createHmac, timingSafeEqual \} from 'node:crypto';\nfunction verify\(/);
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, `${js!}export { verify };\n`);
  return ((await import(pathToFileURL(file).href)) as { verify: Verify }).verify;
}

/**
 * One real delivery to a Node receiver on `port` that answers 204 when the page's JavaScript verify() accepts it
 * (else 401): a certificate inside the walk's rule, then `pkim notify run`. The request as received, and run's line.
 */
async function deliverToJsReceiver(
  verify: Verify,
  secret: string,
  port: number,
  dataDir: string,
): Promise<{ headers: IncomingHttpHeaders; raw: Buffer; accepted: boolean; runLine: string }> {
  const received: { headers: IncomingHttpHeaders; raw: Buffer; accepted: boolean }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const accepted = verify(secret, req.headers, raw);
      received.push({ headers: req.headers, raw, accepted });
      res.writeHead(accepted ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  try {
    const opts = { dataDir };
    const issued = await runPkimAsync(
      ['cert', 'issue', '--ca', 'issuing', '--cn', 'api.example.com', '--ttl', '10d'],
      opts,
    );
    expect(issued.code, issued.stderr).toBe(0);
    const run = await runPkimAsync(['notify', 'run'], opts);
    expect(run.code, run.stderr).toBe(0);
    expect(received).toHaveLength(1);
    return { ...received[0]!, runLine: run.stdout.trim() };
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

describe('docs/notifications.md walk-through', () => {
  it('runs verbatim: an expiry warning verified by the page’s Python verify(), another by its JS one', async () => {
    for (const bin of ['bash', 'jq', 'python3']) requireBinary(bin);
    const doc = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const script = markedBashBlock(doc, 'notifications-walkthrough', DOC);
    // the receiver's verify() is the page's Python example, so that example is what this walk runs
    const example = /### Verifying a webhook[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toMatch(/^import hmac, hashlib, time\ndef verify\(/);
    expect(script).toContain(example!.slice(example!.indexOf('def verify(')));

    const tmp = tempDir('pkim-notify-walk-');
    try {
      const env = { HOOK_PORT: String(await freePort()) };
      const run = await runDocScript(tmp.dir, script, 240_000, env);
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

      // the page's JavaScript verify() on a real delivery: accepted; and refused when anything signed is changed
      const verify = await pageJsVerify(doc, tmp.dir);
      const got = await deliverToJsReceiver(verify, secret, Number(env.HOOK_PORT), join(tmp.dir, 'data'));
      expect(got.runLine).toBe('enqueued 1, delivered 1, retrying 0, failed 0');
      expect(got.accepted).toBe(true);
      expect(JSON.parse(got.raw.toString()) as unknown).toMatchObject({
        event: 'certificate.expiring',
        data: { certificate: { commonName: 'api.example.com' }, daysBefore: 30 },
      });
      const t = Number(got.headers['x-pkim-timestamp']);
      expect(verify(secret, got.headers, Buffer.from(got.raw.toString().replace('api.', 'www.')))).toBe(false);
      expect(verify(`${secret}x`, got.headers, got.raw)).toBe(false);
      expect(verify(secret, got.headers, got.raw, t + 301)).toBe(false);
      expect(verify(secret, { ...got.headers, 'x-pkim-timestamp': String(t + 1) }, got.raw)).toBe(false);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
