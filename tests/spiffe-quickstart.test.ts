// docs/spiffe.md's quick start, executed verbatim (tests/support/doc-script.ts): a trust domain, the HTTPS server, a
// workload's first SVID over a token, its renewal over mTLS with no token, openssl s_client/s_server between two
// workloads' SVIDs, a rotation of the services CA (status lists both) and a renewal with an SVID of the old CA.
// The SVIDs the walk leaves behind are checked again by Go's crypto/x509 against the bundle.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { goVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/spiffe.md';
const script = (md: string): string => markedBashBlock(md, 'spiffe-quickstart', DOC);
const pems = (text: string): string[] => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;

describe('docs/spiffe.md quick start', () => {
  it('runs verbatim in bash: an SVID over a token, its renewal over mTLS, mutual TLS, a rotation', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq']) requireBinary(bin);
    const tmp = tempDir('pkim-spiffe-quickstart-');
    try {
      const run = await runDocScript(tmp.dir, script(readFileSync(join(REPO_ROOT, DOC), 'utf8')));
      expect(run.code, run.out).toBe(0);
      const svids = [...run.out.matchAll(/^\{"spiffeId":"([^"]+)","serial":"([0-9a-f]+)"/gm)].map((m) => m.slice(1));
      expect(svids.map(([id]) => id)).toEqual([
        'spiffe://example.org/node/worker-1',
        'spiffe://example.org/node/worker-1', // renewed over mTLS: a new serial
        'spiffe://example.org/node/worker-2',
        'spiffe://example.org/node/worker-2', // renewed over mTLS with its SVID from the superseded CA
      ]);
      expect(svids[1]![1]).not.toBe(svids[0]![1]);
      expect(run.out).toContain('worker-1.pem: OK');
      expect(run.out).toContain('Verification: OK');
      // status after the rotation: both services CAs of the bundle, the old one superseded and until when
      expect(run.out).toMatch(/^services CA spiffe-services-example\.org-g2: current, expires /m);
      expect(run.out).toMatch(
        /^services CA spiffe-services-example\.org: superseded, in the bundle until \S+, expires \S+, 3 unexpired /m,
      );
      expect(run.out).toContain('worker-2.pem: OK');
      // the renewed SVID is the one the walk left in worker-1.pem (its serial printed by openssl x509)
      expect(run.out).toContain(`serial=${svids[1]![1]!.toUpperCase()}`);

      // independent of OpenSSL: Go verifies both workloads' SVIDs for client auth against the services bundle
      const bundle = pems(readFileSync(join(run.work, 'services-bundle.pem'), 'utf8'));
      for (const name of ['worker-1', 'worker-2']) {
        const [leafPem, ...chain] = pems(readFileSync(join(run.work, `${name}.pem`), 'utf8'));
        const v = goVerify({
          leafPem: leafPem!,
          intermediatesPems: chain,
          rootPem: bundle.at(-1)!,
          keyUsage: 'clientAuth',
        });
        expect(v.ok, v.output).toBe(true);
      }
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
