// A private key file is never replaced silently (docs: README "CLI reference", output files): `cert issue` and
// `cert renew` refuse an existing `--out-key` before anything is issued (`output.key_file_exists`, exit 4, one line,
// no certificate made, the file untouched) unless `--force`; certificate files are public and replaced as before, so
// a renewal in place is `cert renew REF --out-cert web.pem --out-key web.key --force`. `--out-key` with `--csr` (the
// key is the CSR's) is a usage error (exit 2) and renews nothing. Locally and through a `pkim serve` alike; every
// certificate written is checked by openssl against the CA chain, and the key written by openssl against it.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CliResult } from '../../../tests/support/cli-in-process';
import { cliTwoModesFixture, expectKeyFileRefused, keyFileExists } from '../../../tests/support/cli-two-modes-fixture';
import { opensslCsr } from '../../../tests/support/openssl-tools';

/** the public key of a certificate and of a private key, as openssl prints them (they match when the key is its) */
const certPublicKey = (pem: string) =>
  execFileSync('openssl', ['x509', '-noout', '-pubkey'], { input: pem }).toString();
const keyPublicKey = (pem: string) => execFileSync('openssl', ['pkey', '-pubout'], { input: pem }).toString();

describe('pkim cert issue / cert renew: an existing --out-key file is refused unless --force', () => {
  const { file, local, modes, certificates, verifies } = cliTwoModesFixture('pkim-key-files-', 'Key Files');
  const refusedKeyFile = (r: CliResult, path: string) => expectKeyFileRefused(r, keyFileExists(path));

  it('cert issue: an existing --out-key is refused before issuing (exit 4, untouched); --force replaces it', () => {
    for (const [mode, pkim] of modes) {
      const key = file(`${mode}-issue.key`);
      const cert = file(`${mode}-issue.pem`);
      writeFileSync(key, 'precious key\n', { mode: 0o600 });
      const before = certificates();
      const args = ['cert', 'issue', '--ca', 'issuing', '--cn', `${mode}.example.com`, '--out-cert', cert];
      refusedKeyFile(pkim(...args, '--out-key', key), key);
      expect(readFileSync(key, 'utf8'), mode).toBe('precious key\n');
      expect(certificates(), `${mode}: nothing issued`).toBe(before);
      const forced = pkim(...args, '--out-key', key, '--force');
      expect(forced.code, forced.stderr).toBe(0);
      expect(certificates()).toBe(before + 1);
      verifies(cert);
      expect(keyPublicKey(readFileSync(key, 'utf8'))).toBe(certPublicKey(readFileSync(cert, 'utf8')));
      expect(statSync(key).mode & 0o777).toBe(0o600);
    }
  });

  it('cert renew: key file refused, nothing renewed; in place with --force; a cert file alone is replaced', () => {
    for (const [mode, pkim] of modes) {
      const key = file(`${mode}-web.key`);
      const cert = file(`${mode}-web.pem`);
      const issued = pkim(
        'cert',
        'issue',
        '--ca',
        'issuing',
        '--cn',
        `web-${mode}.example.com`,
        '--out-cert',
        cert,
        '--out-key',
        key,
        '--json',
      );
      expect(issued.code, issued.stderr).toBe(0);
      const serial = issued.json<{ serial: string }>().serial;
      const oldKey = readFileSync(key, 'utf8');
      const before = certificates();
      refusedKeyFile(pkim('cert', 'renew', serial, '--out-cert', cert, '--out-key', key, '--revoke-old'), key);
      expect(readFileSync(key, 'utf8')).toBe(oldKey);
      expect(certificates(), `${mode}: nothing renewed`).toBe(before);
      expect(local('cert', 'show', serial, '--json').json<{ status: string }>().status).toBe('active');
      // --out-key with --csr: a usage error, nothing renewed
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=ignored' });
      writeFileSync(file(`${mode}-new.csr`), csrPem);
      const withCsr = pkim('cert', 'renew', serial, '--csr', file(`${mode}-new.csr`), '--out-key', file('nowhere.key'));
      expect(withCsr.code, withCsr.stderr).toBe(2);
      expect(withCsr.stderr).toBe(
        "error: input.invalid: --out-key with --csr: the new key is the CSR's, not made here (drop --out-key)\n",
      );
      expect(certificates()).toBe(before);
      // --out-key with --reuse-key: the old key is the holder's — a usage error too, nothing renewed
      const reuse = pkim('cert', 'renew', serial, '--reuse-key', '--out-key', file('nowhere.key'));
      expect(reuse.code, reuse.stderr).toBe(2);
      expect(reuse.stderr).toBe(
        "error: input.invalid: --out-key with --reuse-key: the key is the old certificate's, not made here (drop " +
          '--out-key)\n',
      );
      expect(certificates()).toBe(before);
      // in place: both files replaced with --force
      const renewed = pkim('cert', 'renew', serial, '--out-cert', cert, '--out-key', key, '--force', '--json');
      expect(renewed.code, renewed.stderr).toBe(0);
      verifies(cert);
      const newKey = readFileSync(key, 'utf8');
      expect(newKey).not.toBe(oldKey);
      expect(keyPublicKey(newKey)).toBe(certPublicKey(readFileSync(cert, 'utf8')));
      // the certificate file alone (the key from a CSR): replaced without --force
      const next = renewed.json<{ certificate: { serial: string } }>().certificate.serial;
      const again = pkim('cert', 'renew', next, '--csr', file(`${mode}-new.csr`), '--out-cert', cert);
      expect(again.code, again.stderr).toBe(0);
      verifies(cert);
      const csrPublicKey = execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: csrPem }).toString();
      expect(certPublicKey(readFileSync(cert, 'utf8'))).toBe(csrPublicKey);
    }
  });
});
