// docs/crl.md's and docs/ocsp.md's relying-party walk-throughs, executed verbatim (tests/support/doc-script.ts): a
// server on a free port, a certificate whose CRL distribution point and OCSP URL name it, the CRL fetched from that
// URL and checked by `openssl crl` / `openssl verify -crl_check_all -crl_download`, OCSP asked by `openssl ocsp`
// (nonce, no nonce, SHA-256 CertID, GET) — each before and after `pkim cert revoke` beside the running server. What
// the walks leave is read again independently: the CRLs by GnuTLS certtool and Go, the OCSP responses by ocsptool.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { certtoolCrlVerify, goCrlVerify, requireBinary } from './support/verifiers';

const walk = (doc: string, name: string): string =>
  markedBashBlock(readFileSync(join(REPO_ROOT, doc), 'utf8'), name, doc);
const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber.toLowerCase();

/** GnuTLS ocsptool: the response's signature checked with its signer, and its printed fields */
function ocsptool(responseDer: string, signerPem: string): { verified: boolean; info: string } {
  const run = (args: string[]) => {
    const r = spawnSync('ocsptool', args, { encoding: 'utf8', timeout: 60_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  const verify = run(['-e', '--load-signer', signerPem, '--infile', responseDer, '--inder']);
  return {
    verified: verify.includes('Verifying OCSP Response: Success'),
    info: run(['-j', '--infile', responseDer, '--inder']),
  };
}

describe('relying-party walk-throughs', () => {
  it('docs/crl.md: the CRL from the certificate, verified before and after a revocation', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq', 'certtool']) requireBinary(bin);
    const tmp = tempDir('pkim-crl-walk-');
    try {
      const run = await runDocScript(tmp.dir, walk('docs/crl.md', 'crl-relying-party'));
      expect(run.code, run.out).toBe(0);
      expect(run.out.match(/^www\.pem: OK$/gm), run.out).toHaveLength(1); // before the revocation
      expect(run.out).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
      expect(run.out).toMatch(/X509v3 CRL Reason Code: *\n\s+Key Compromise/);

      const issuing = readFileSync(join(run.work, 'issuing.pem'), 'utf8');
      const serial = serialOf(readFileSync(join(run.work, 'www.pem'), 'utf8'));
      for (const [file, entries] of [
        ['issuing.crl', []],
        ['revoked.crl', [[serial.replace(/^0+/, ''), 1]]], // keyCompromise (Go prints the serial without leading zeros)
      ] as const) {
        const der = readFileSync(join(run.work, file));
        const c = certtoolCrlVerify(der, issuing);
        expect(c.ok, `${file}: ${c.output}`).toBe(true);
        const g = goCrlVerify(der, issuing);
        expect(g.ok, `${file}: ${g.output}`).toBe(true);
        expect([...g.entries], file).toEqual(entries);
      }
    } finally {
      tmp.cleanup();
    }
  }, 300_000);

  it('docs/ocsp.md: openssl ocsp against the served URL, good then revoked', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq', 'ocsptool']) requireBinary(bin);
    const tmp = tempDir('pkim-ocsp-walk-');
    try {
      const run = await runDocScript(tmp.dir, walk('docs/ocsp.md', 'ocsp-relying-party'));
      expect(run.code, run.out).toBe(0);
      // nonce, no nonce, SHA-256, GET: good; after the revocation: revoked; every response verified by openssl
      expect([...run.out.matchAll(/^www\.pem: (\w+)$/gm)].map((m) => m[1])).toEqual([
        'good',
        'good',
        'good',
        'good',
        'revoked',
      ]);
      expect(run.out.match(/^Response verify OK$/gm)).toHaveLength(5);
      expect(run.out).toMatch(/Reason: keyCompromise/);
      expect(run.out).toMatch(/^cache-control: public, max-age=\d+/m);

      const issuing = join(run.work, 'issuing.pem');
      const serial = serialOf(readFileSync(join(run.work, 'www.pem'), 'utf8'));
      for (const [file, status] of [
        ['get.der', 'good'],
        ['revoked.der', 'revoked'],
      ] as const) {
        const r = ocsptool(join(run.work, file), issuing);
        expect(r.verified, `${file}: ${r.info}`).toBe(true);
        expect(r.info).toContain(`Serial Number: ${serial}`);
        expect(r.info).toContain(`Certificate Status: ${status}`);
      }
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
