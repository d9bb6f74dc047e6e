// A revocation on one instance reaches another instance's OCSP answers and CRL at once on PostgreSQL: the batch that
// revokes announces it (pg_notify from its flush wait, packages/store/src/pg-batch-commit.ts FLUSH_WAIT_NOTIFY), and
// the other instance's listening connection moves Store.otherCommits, which ends the OCSP answer it keeps in memory
// (500 ms) and the CRL's revocation-stamp recheck (1 s). Both authorities' clocks are frozen here, so those windows
// never run out: only the announcement can make instance B answer "revoked".
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { openssl, opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { TEST_ADMIN } from '../../../tests/support/test-kit';

const hosts = postgresInstances();
const tmp = tempDir('pkim-pg-revocation-');
afterAll(() => tmp.cleanup());

/** asks `ok` every 25 ms, at most 10 s of real time (the authorities' clocks do not move) */
async function within10s<T>(what: string, ask: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await ask();
    if (ok(v)) return v;
    if (i >= 400) throw new Error(`never: ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe('a revocation on one PostgreSQL instance, seen by another', () => {
  it("instance B's OCSP answer and CRL say revoked once A's revocation is announced (openssl-verified)", async () => {
    const [a, b] = await hosts.two({ clock: fixedClock(Date.now()) });
    const { root, issuing } = await rootAndIssuing(a, 'pg-rev');
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=b.example.com', sans: ['DNS:b.example.com'] });
    const issued = await a.issuance.issueFromCsr({ caId: issuing.id, csrPem, profile: 'tls-server' }, TEST_ADMIN);
    const files = {
      'ca.pem': issuing.pem,
      'leaf.pem': issued.certificatePem,
      'chain.pem': `${issuing.pem}\n${root.pem}`,
    };
    // a request without nonce (B keeps its answer in memory, ocsp-service.ts), made by openssl
    const reqDir = join(tmp.dir, 'req');
    mkdirSync(reqDir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(reqDir, name), text);
    const at = (name: string) => join(reqDir, name);
    execFileSync('openssl', [
      'ocsp',
      '-issuer',
      at('ca.pem'),
      '-cert',
      at('leaf.pem'),
      '-no_nonce',
      '-reqout',
      at('q'),
    ]);
    const request = readFileSync(at('q'));
    /** B's answer, as openssl reads and verifies it */
    const askB = async () => {
      const res = await b.ocsp.respond(request);
      const v = openssl(
        [
          'ocsp',
          '-respin',
          '@res.der',
          '-issuer',
          '@ca.pem',
          '-cert',
          '@leaf.pem',
          '-CAfile',
          '@chain.pem',
          '-no_nonce',
          '-resp_text',
        ],
        { ...files, 'res.der': res.der },
      );
      expect(v.output).toContain('Response verify OK');
      return v.output;
    };
    const serial = issued.certificate.serialHex.toLowerCase().replace(/^0+/, '');
    const crlOfB = async () => {
      const crl = await b.crl.current(issuing.id);
      const v = opensslCrlVerify(crl.der, issuing.pem);
      expect(v.ok, v.text).toBe(true);
      return v.text.toLowerCase();
    };
    // B answers good, twice (the second from a stored response, kept in memory), and its CRL lists nothing
    expect(await askB()).toMatch(/leaf\.pem: good/);
    expect(await askB()).toMatch(/leaf\.pem: good/);
    expect(await crlOfB()).not.toContain(serial);
    await a.certificates.revoke(issued.certificate.id, 'keyCompromise', TEST_ADMIN);
    const revoked = await within10s('B answers revoked', askB, (out) => out.includes('leaf.pem: revoked'));
    expect(revoked).toContain('Reason: keyCompromise');
    expect(await within10s('B lists it', crlOfB, (text) => text.includes(serial))).toContain('key compromise');
  }, 120_000);
});
