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

  it('its rules block runs as written: three rules, a rotation, the log, a removal; e-mail needs SMTP', async () => {
    const doc = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const tmp = tempDir('pkim-notify-rules-walk-');
    try {
      // the reader's data directory: the walk below's first lines (a root and the CA named issuing)
      const before = await runDocScript(
        tmp.dir,
        [
          'set -euo pipefail',
          'pkim init',
          'pkim ca create --name root --subject "CN=Example Root CA" > /dev/null',
          'pkim ca create --name issuing --parent root --subject "CN=Example Issuing CA" > /dev/null',
        ].join('\n'),
      );
      expect(before.code, before.out).toBe(0);
      const dataDir = join(tmp.dir, 'data');
      // without an SMTP server the e-mail rule is refused (exit as docs/errors.md says), nothing added
      const refused = await runPkimAsync(
        ['notify', 'rule', 'add', 'ops-mail', '--email', 'pki-team@example.com', '--ca', 'issuing'],
        { dataDir },
      );
      expect(refused.stderr.trim()).toBe(
        'error: notification.smtp_not_configured: e-mail rules need an SMTP server: set PKIM_SMTP_HOST ' +
          '(docs/notifications.md)',
      );
      const errorsRow = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('| `notification.smtp_not_configured` |'))!;
      expect(refused.code).toBe(Number(errorsRow.split('|')[4]!.trim()));
      expect(doc).toContain(`(\`notification.smtp_not_configured\`, exit ${refused.code})`);

      const run = await runDocScript(tmp.dir, markedBashBlock(doc, 'notifications-rules', DOC));
      expect(run.code, run.out).toBe(0);
      const lines = run.out.split('\n');
      expect(run.out).toMatch(
        /^rule tls-expiry \(ntr_\w+\) added: expiry 30\/7\/1 days → webhook https:\/\/hooks\.example\.com\/pki$/m,
      );
      expect(run.out).toMatch(
        /^rule ops-mail \(ntr_\w+\) added: expiry 7\/1 days → email pki-team@example\.com,oncall@example\.com$/m,
      );
      // a secret for each webhook rule and the rotation's, each printed once
      const secrets = run.out.match(/secret \(HMAC-SHA256 key\):\n([A-Za-z0-9_-]{43})\n/g);
      expect(secrets, run.out).toHaveLength(3);
      expect(new Set(secrets).size).toBe(3);
      expect(run.out).toMatch(
        /^ops-mail +expiry 7\/1d +email +pki-team@example\.com,oncall@example\.com +ca=issuing +yes$/m,
      );
      expect(run.out).toMatch(
        /^rule tls-expiry: webhook secret rotated; deliveries are signed under the old secret too until \S+Z$/m,
      );
      expect(lines).toContain('(none)');
      expect(lines).toContain('rule ops-mail removed');
      const rules = (await runPkimAsync(['notify', 'rule', 'list', '--json'], { dataDir })).json<{
        items: { name: string }[];
      }>();
      expect(rules.items.map((r) => r.name).sort()).toEqual(['revocations', 'tls-expiry']);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
