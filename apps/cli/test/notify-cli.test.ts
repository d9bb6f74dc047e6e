// `pkim notify …` (docs/notifications.md): rules from the CLI, a run that delivers a signed webhook to a receiver in
// the test, the delivery log, --json in the contract's shapes, errors in the one form, secrets shown once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim, runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe('pkim notify', () => {
  const tmp = tempDir('pkim-notify-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    expect(pkim('init', '--json').code).toBe(0);
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    tmp.cleanup();
  });

  it('adds a webhook rule, runs the job, and the receiver gets a signed expiry notification', async () => {
    const root = pkim('ca', 'create', '--name', 'n-root', '--subject', 'CN=N Root', '--key-type', 'ec-p256', '--json');
    expect(root.code, root.stderr).toBe(0);
    const leaf = pkim('cert', 'issue', '--ca', 'n-root', '--cn', 'web.example.com', '--ttl', '20d', '--json');
    expect(leaf.code, leaf.stderr).toBe(0);
    const cert = leaf.json<{ serial: string; certificatePem: string }>();
    const v = opensslVerify({
      leafPem: cert.certificatePem,
      rootPem: root.json<{ certificatePem: string }>().certificatePem,
    });
    expect(v.ok, v.output).toBe(true);

    const secretFile = join(tmp.dir, 'secret');
    writeFileSync(secretFile, 'cli-test-secret-0123456789\n');
    const added = pkim(
      'notify',
      'rule',
      'add',
      'web-expiry',
      '--webhook',
      url,
      '--days',
      '30,7',
      '--name-pattern',
      '*.example.com',
      '--secret-file',
      secretFile,
      '--json',
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({
      name: 'web-expiry',
      trigger: 'expiry',
      channel: 'webhook',
      daysBefore: [30, 7],
      namePattern: '*.example.com',
      enabled: true,
      secret: 'cli-test-secret-0123456789',
    });
    // generated secret: printed once in the text output
    const mail = pkim('notify', 'rule', 'add', 'revoked', '--webhook', url, '--events', 'certificate.revoked');
    expect(mail.code, mail.stderr).toBe(0);
    expect(mail.stdout).toMatch(/webhook secret \(HMAC-SHA256 key\):\n[A-Za-z0-9_-]{43}\nstore it now/);

    const listed = pkim('notify', 'rule', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain('cli-test-secret');
    const rules = listed.json<{ items: { name: string; createdAt: string }[]; nextCursor: null }>();
    expect(rules.nextCursor).toBeNull();
    expect(rules.items.map((r) => r.name)).toEqual(['revoked', 'web-expiry']);
    expect(pkim('notify', 'rule', 'list').stdout).toMatch(/web-expiry\s+expiry 30\/7d\s+webhook/);

    // async: the receiver in this process must answer while pkim runs
    const run = await runPkimAsync(['notify', 'run', '--json'], { dataDir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toEqual({ enqueued: 1, delivered: 1, retrying: 0, failed: 0 });
    expect(received).toHaveLength(1);
    const got = received[0]!;
    const t = String(got.headers['x-pkim-timestamp']);
    const mac = createHmac('sha256', 'cli-test-secret-0123456789').update(`${t}.${got.body}`).digest('hex');
    expect(got.headers['x-pkim-signature']).toBe(`t=${t},v1=${mac}`);
    expect(JSON.parse(got.body)).toMatchObject({
      event: 'certificate.expiring',
      data: { daysBefore: 30, daysLeft: 19, certificate: { serial: cert.serial, commonName: 'web.example.com' } },
    });
    // a second run delivers nothing new
    const again = await runPkimAsync(['notify', 'run', '--json'], { dataDir });
    expect(again.json()).toEqual({ enqueued: 0, delivered: 0, retrying: 0, failed: 0 });

    const log = pkim('notify', 'deliveries', '--rule', 'web-expiry', '--json');
    expect(log.code, log.stderr).toBe(0);
    const page = log.json<{ items: { event: string; status: string; attempts: number; deliveredAt: string }[] }>();
    expect(page.items.map((d) => [d.event, d.status, d.attempts])).toEqual([['certificate.expiring', 'delivered', 1]]);
    expect(page.items[0]!.deliveredAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(pkim('notify', 'deliveries').stdout).toMatch(/web-expiry\s+certificate\.expiring\s+crt_\w+\s+delivered\s+1/);
  }, 300_000);

  it('disables and removes rules; bad input is one error line, exit 2, nothing changed', () => {
    expect(pkim('notify', 'rule', 'disable', 'revoked', '--json').json()).toMatchObject({ enabled: false });
    const none = pkim('notify', 'rule', 'add', 'x');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('error: input.invalid: give exactly one of --webhook or --email\n');
    const badDays = pkim('notify', 'rule', 'add', 'x', '--webhook', url, '--days', 'soon');
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toMatch(/^error: input\.invalid: --days takes whole days/);
    const noSmtp = pkim('notify', 'rule', 'add', 'x', '--email', 'pki@example.com');
    expect(noSmtp.code).toBe(2);
    expect(noSmtp.stderr).toMatch(/^error: notification\.smtp_not_configured: /);
    // a typo in --profile or --ca would notify nothing: refused, not a rule
    const typo = pkim('notify', 'rule', 'add', 'x', '--webhook', url, '--profile', 'tls-servre');
    expect([typo.code, typo.stderr]).toEqual([
      3,
      "error: profile.not_found: no certificate profile 'tls-servre', and no certificate carries that name: " +
        'the rule would match nothing\n',
    ]);
    const caTypo = pkim('notify', 'rule', 'add', 'x', '--webhook', url, '--ca', 'n-rooot');
    expect([caTypo.code, caTypo.stderr]).toEqual([3, "error: ca.not_found: no CA with id or name 'n-rooot'\n"]);
    // the CA's name but for case: the one line says which name to use
    const caCase = pkim('notify', 'rule', 'add', 'x', '--webhook', url, '--ca', 'N-ROOT');
    expect([caCase.code, caCase.stderr]).toEqual([
      3,
      "error: ca.not_found: no CA with id or name 'N-ROOT' (did you mean 'n-root'?)\n",
    ]);
    const dup = pkim('notify', 'rule', 'add', 'web-expiry', '--webhook', url);
    expect(dup.code).toBe(4);
    expect(dup.stderr).toMatch(/^error: notification\.rule_name_taken: /);
    expect(pkim('notify', 'rule', 'list', '--json').json<{ items: unknown[] }>().items).toHaveLength(2);
    expect(pkim('notify', 'rule', 'remove', 'revoked').code).toBe(0);
    const gone = pkim('notify', 'rule', 'remove', 'revoked');
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^error: notification\.rule_not_found: /);
    expect(
      pkim('notify', 'rule', 'list', '--json')
        .json<{ items: { name: string }[] }>()
        .items.map((r) => r.name),
    ).toEqual(['web-expiry']);
  }, 300_000);

  it('rotates a webhook secret: shown once, both secrets sign during the overlap, one after --overlap 0', async () => {
    const oldFile = join(tmp.dir, 'old-secret');
    writeFileSync(oldFile, 'rotation-old-secret-0123456789\n');
    const add = ['notify', 'rule', 'add', 'rot', '--webhook', url, '--events', 'certificate.revoked'];
    expect(pkim(...add, '--secret-file', oldFile).code).toBe(0);
    const newFile = join(tmp.dir, 'new-secret');
    writeFileSync(newFile, 'rotation-new-secret-0123456789\n');
    const rotated = pkim(
      'notify',
      'rule',
      'rotate-secret',
      'rot',
      '--secret-file',
      newFile,
      '--overlap',
      '2h',
      '--json',
    );
    expect(rotated.code, rotated.stderr).toBe(0);
    const dto = rotated.json<{ name: string; secret: string; secretOverlapUntil: string }>();
    expect(dto).toMatchObject({ name: 'rot', secret: 'rotation-new-secret-0123456789' });
    expect(Date.parse(dto.secretOverlapUntil) - Date.now()).toBeGreaterThan(7_000_000);
    expect(pkim('notify', 'rule', 'list', '--json').stdout).not.toContain('rotation-');

    /** revokes a fresh certificate (out of web-expiry's scope), runs the job: the `v1` values of the delivery */
    const nextSignatures = async (cn: string) => {
      const leaf = pkim('cert', 'issue', '--ca', 'n-root', '--cn', cn, '--ttl', '20d', '--json');
      expect(leaf.code, leaf.stderr).toBe(0);
      expect(pkim('cert', 'revoke', leaf.json<{ serial: string }>().serial, '--reason', 'superseded').code).toBe(0);
      const before = received.length;
      const run = await runPkimAsync(['notify', 'run', '--json'], { dataDir });
      expect(run.json()).toMatchObject({ delivered: 1 });
      expect(received).toHaveLength(before + 1);
      const got = received.at(-1)!;
      const t = String(got.headers['x-pkim-timestamp']);
      const mac = (secret: string) => `v1=${createHmac('sha256', secret).update(`${t}.${got.body}`).digest('hex')}`;
      const [ts, ...v1] = String(got.headers['x-pkim-signature']).split(',');
      expect(ts).toBe(`t=${t}`);
      return { v1, mac };
    };
    const during = await nextSignatures('rot1.example.org');
    expect(during.v1).toEqual([
      during.mac('rotation-new-secret-0123456789'),
      during.mac('rotation-old-secret-0123456789'),
    ]);

    // generated secret, printed once; --overlap 0: the previous secret stops at once
    const again = pkim('notify', 'rule', 'rotate-secret', 'rot', '--overlap', '0');
    expect(again.code, again.stderr).toBe(0);
    const m = /new webhook secret \(HMAC-SHA256 key\):\n([A-Za-z0-9_-]{43})\nstore it now/.exec(again.stdout);
    expect(again.stdout).toMatch(/the old secret no longer signs/);
    const after = await nextSignatures('rot2.example.org');
    expect(after.v1).toEqual([after.mac(m![1]!)]);

    const bad = pkim('notify', 'rule', 'rotate-secret', 'rot', '--overlap', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: input\.invalid: invalid duration 'soon'/);
    const audit = pkim('audit', 'list', '--action', 'notification.secret_rotated', '--json');
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).not.toContain('rotation-new-secret');
    const rotations = audit.json<{ items: { details: { name: string; generated: boolean } }[] }>().items;
    expect(rotations.map((e) => [e.details.name, e.details.generated]).sort()).toEqual([
      ['rot', false],
      ['rot', true],
    ]);
    expect(pkim('notify', 'rule', 'remove', 'rot').code).toBe(0);
  }, 300_000);
});
