// A certificate from a CA without CRL or OCSP URLs: `pkim cert issue` says so once, as its `warning: …` line on
// stderr — not a second time as a log line at PKIM_LOG_LEVEL=warn (`pkim serve` keeps the log line: a server's
// operator reads its log). Commands that print no warnings (renew, bulk) keep the log line.
// A file with a private key (`cert export --format p12|key|jks|zip`, `cert bulk --keys-zip`): the command's
// `warning: this file contains the PRIVATE KEY …` line, once — not also the authority's "private key exported" log
// line (the audit event `certificate.exported` records it; `pkim serve` keeps the log line).
// A failed command: its `error: <code>: <message>` line, once — not also the authority's "operation failed" record
// (the audit's `*_failed` event records it). A failure the command does not end with (a bulk row's) stays a log
// record: valid JSON with unique keys (it had two "msg": the error's and "operation failed").
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { runPkim } from '../../../tests/support/cli-in-process';
import { openssl, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { parseJsonUniqueKeys } from '../../../tests/support/json-unique-keys';

/** openssl reads a PKCS#12 file of the test's password: its certificate verifies against the root */
function verifiesP12(p12: Uint8Array, rootPem: string): void {
  const read = openssl(['pkcs12', '-in', '@k.p12', '-passin', 'pass:export password 1', '-nokeys', '-clcerts'], {
    'k.p12': p12,
  });
  expect(read.ok, read.output).toBe(true);
  const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(read.output)![0];
  const v = opensslVerify({ leafPem, rootPem });
  expect(v.ok, v.output).toBe(true);
}

describe('ca.no_urls: one warning for a CLI user', () => {
  const tmp = tempDir('pkim-no-urls-');
  afterAll(() => tmp.cleanup());

  it('cert issue prints it once, as its warning: line, at PKIM_LOG_LEVEL=warn', () => {
    const opts = { dataDir: join(tmp.dir, 'data'), env: { PKIM_LOG_LEVEL: 'warn', PKIM_LOG_FORMAT: 'json' } };
    const ca = runPkim(
      ['ca', 'create', '--name', 'bare-root', '--subject', 'CN=Bare Root', '--key-type', 'ec-p256'],
      opts,
    );
    expect(ca.code, ca.stderr).toBe(0);
    const rootPem = runPkim(['ca', 'show', 'bare-root', '--json'], opts).json<{ certificatePem: string }>()
      .certificatePem;
    const r = runPkim(['cert', 'issue', '--ca', 'bare-root', '--cn', 'bare.example.com', '--json'], opts);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('has no CRL or OCSP URL'))).toEqual([
      expect.stringMatching(/^warning: CA 'bare-root' has no CRL or OCSP URL/),
    ]);
    const v = opensslVerify({ leafPem: r.json<{ certificatePem: string }>().certificatePem, rootPem });
    expect(v.ok, v.output).toBe(true);
  });

  it('cert export and cert bulk --keys-zip say "private key" once, as their warning line, at log level warn', () => {
    const dir = join(tmp.dir, 'keys');
    const opts = { dataDir: join(dir, 'data'), cwd: tmp.dir, env: { PKIM_LOG_LEVEL: 'warn', PKIM_LOG_FORMAT: 'json' } };
    const pkim = (...args: string[]) => {
      const r = runPkim(args, opts);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    /** the lines of stderr about a private key: exactly the command's one warning */
    const once = (stderr: string) =>
      expect(stderr.split('\n').filter((l) => /private key/i.test(l))).toEqual([
        expect.stringMatching(/^warning: this file contains the PRIVATE KEY of the certificate/),
      ]);
    pkim('ca', 'create', '--name', 'key-root', '--subject', 'CN=Key Root', '--key-type', 'ec-p256');
    const rootPem = pkim('ca', 'show', 'key-root', '--json').json<{ certificatePem: string }>().certificatePem;
    const { serial } = pkim('cert', 'issue', '--ca', 'key-root', '--cn', 'k.example.com', '--keep-key', '--json').json<{
      serial: string;
    }>();
    writeFileSync(join(tmp.dir, 'pw'), 'export password 1\n');
    const p12 = join(tmp.dir, 'k.p12');
    once(pkim('cert', 'export', serial, '--format', 'p12', '--password-file', 'pw', '--out', p12).stderr);
    once(pkim('cert', 'export', serial, '--format', 'key', '--password-file', 'pw', '--out', 'k.key', '--json').stderr);
    // openssl reads the PKCS#12 file: the certificate in it verifies against the root
    verifiesP12(readFileSync(p12), rootPem);

    writeFileSync(join(tmp.dir, 'rows.csv'), 'cn,sans\nb1.example.com,b1.example.com\n');
    const bulk = pkim(
      'cert',
      'bulk',
      '--ca',
      'key-root',
      '--csv',
      'rows.csv',
      '--profile',
      'tls-server',
      '--keys-zip',
      'keys.zip',
      '--password-file',
      'pw',
    );
    once(bulk.stderr);
    const zipped = Object.values(unzipSync(readFileSync(join(tmp.dir, 'keys.zip'))));
    expect(zipped).toHaveLength(1);
    verifiesP12(zipped[0]!, rootPem);
    // bulk prints no issuance warnings: the CA's ca.no_urls stays a log line (3d1d2ce)
    expect(bulk.stderr).toMatch(/"code":"ca.no_urls"/);
  });
});

describe('a failed command: its error once for a CLI user', () => {
  const tmp = tempDir('pkim-failed-once-');
  afterAll(() => tmp.cleanup());
  const opts = {
    dataDir: join(tmp.dir, 'data'),
    cwd: tmp.dir,
    env: { PKIM_LOG_LEVEL: 'warn', PKIM_LOG_FORMAT: 'json' },
  };
  /** stderr's log lines, each parsed refusing a key twice */
  const records = (stderr: string) =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => parseJsonUniqueKeys(l) as Record<string, unknown>);

  it('ca revoke of an unknown CA prints its error: line only, at PKIM_LOG_LEVEL=warn', () => {
    expect(runPkim(['init'], opts).code).toBe(0);
    for (const argv of [
      ['ca', 'revoke', 'no-such-ca'],
      ['cert', 'revoke', '00ab'],
    ]) {
      const r = runPkim(argv, opts);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr.split('\n').filter(Boolean), argv.join(' ')).toEqual([
        expect.stringMatching(/^error: (ca|certificate)\.not_found: no (CA|certificate) with /),
      ]);
    }
  });

  it("a bulk row's failure stays a log record: valid JSON, one msg, the error as reason", () => {
    expect(
      runPkim(['ca', 'create', '--name', 'row-root', '--subject', 'CN=Row Root', '--key-type', 'ec-p256'], opts).code,
    ).toBe(0);
    writeFileSync(
      join(tmp.dir, 'bad-row.csv'),
      'cn,sans\ngood.example.com,good.example.com\nbad,bad name.example.com\n',
    );
    const r = runPkim(
      ['cert', 'bulk', '--ca', 'row-root', '--csv', 'bad-row.csv', '--profile', 'tls-server', '--keep-key'],
      opts,
    );
    const failed = records(r.stderr).filter((x) => x.msg === 'operation failed');
    expect(failed, r.stderr).toEqual([
      expect.objectContaining({
        action: 'certificate.issue_failed',
        code: 'lint.invalid_san',
        reason: expect.any(String),
      }),
    ]);
  });
});
