// A certificate from a CA without CRL or OCSP URLs: `pkim cert issue` says so once, as its `warning: …` line on
// stderr — not a second time as a log line at PKIM_LOG_LEVEL=warn (`pkim serve` keeps the log line: a server's
// operator reads its log). Commands that print no warnings (renew, bulk) keep the log line.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

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
});
