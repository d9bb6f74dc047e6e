import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { runPkim } from '../../../tests/support/cli-in-process';
import { createRootAndIssuing } from '../../../tests/support/cli-ca-fixture';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslOcspUrl, opensslVerify } from '../../../tests/support/verifiers';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';

interface Outcome {
  total: number;
  succeeded: number;
  failed: number;
  items: { ref: string; status: string; serial?: string; newSerial?: string; error?: { code: string } }[];
}

describe('pkim cert revoke-batch, renew-batch, download-batch', { timeout: 300_000 }, () => {
  const tmp = tempDir('pkim-batch-');
  const dir = tmp.dir;
  const dataDir = join(dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: dir });
  let rootPem: string;
  let issuingPem: string;
  /** serial by common name */
  const serials = new Map<string, string>();

  const crl = () => {
    const r = pkim('crl', 'generate', '--ca', 'issuing', '--out', join(dir, 'crl.der'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const v = opensslCrlVerify(new Uint8Array(readFileSync(join(dir, 'crl.der'))), issuingPem);
    expect(v.ok, v.text).toBe(true);
    return v.text;
  };
  /** `pkim serve` on the same data dir: its OCSP responder answers for what the CLI revoked */
  let server: PkimServer;
  /** `openssl ocsp -url` against the served responder, for one serial */
  const ocsp = async (serial: string) => {
    const leafPem = pkim('cert', 'show', serial, '--json').json<{ certificatePem: string }>().certificatePem;
    return opensslOcspUrl({ url: `${server.url}/ocsp`, issuerPem: issuingPem, rootPem, leafPem });
  };
  const expectOcspRevoked = async (serial: string, reason: string) => {
    const out = await ocsp(serial);
    expect(out).toMatch(/Response verify OK/);
    expect(out).toMatch(/leaf\.pem: revoked/);
    expect(out).toContain(`Reason: ${reason}`);
  };
  /** the CRL entry of a serial (openssl prints it in upper case) and the reason under it */
  const crlEntry = (text: string, serial: string) =>
    new RegExp(
      `Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+` +
        `X509v3 CRL Reason Code:\\s+([A-Za-z ]+)`,
    )
      .exec(text)?.[1]
      ?.trim();

  beforeAll(async () => {
    createRootAndIssuing(
      pkim,
      { name: 'root', subject: 'CN=Batch Root' },
      { name: 'issuing', subject: 'CN=Batch Issuing' },
    );
    rootPem = pkim('ca', 'export', 'root', '--json').json<{ pem: string }>().pem;
    issuingPem = pkim('ca', 'export', 'issuing', '--json').json<{ pem: string }>().pem;
    const names = ['rev-1', 'rev-2', 'rev-3', 'keep-1', 'keep-2', 'soon-1', 'soon-2'];
    writeFileSync(
      join(dir, 'batch.csv'),
      'cn,sans,validity\n' +
        names.map((n) => `${n}.example.com,${n}.example.com,${n.startsWith('soon') ? '10d' : '200d'}`).join('\n'),
    );
    const r = pkim(
      'cert',
      'bulk',
      '--ca',
      'issuing',
      '--csv',
      'batch.csv',
      '--profile',
      'tls-server',
      '--keep-key',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const row of r.json<{ rows: { commonName: string; serial: string }[] }>().rows) {
      serials.set(row.commonName.split('.')[0]!, row.serial);
    }
    server = await startPkimServer(dataDir, [], {});
  });
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('revokes by a filter with one reason: the CRL (openssl, certtool, Go) and openssl ocsp say so', async () => {
    const r = pkim('cert', 'revoke-batch', '--search', 'rev-', '--reason', 'keyCompromise', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<Outcome>();
    expect(out.succeeded).toBe(3);
    expect(new Set(out.items.map((i) => i.serial))).toEqual(
      new Set(['rev-1', 'rev-2', 'rev-3'].map((n) => serials.get(n))),
    );
    const text = crl();
    for (const n of ['rev-1', 'rev-2', 'rev-3']) expect(crlEntry(text, serials.get(n)!)).toBe('Key Compromise');
    for (const n of ['keep-1', 'keep-2', 'soon-1']) expect(text).not.toContain(serials.get(n)!.toUpperCase());
    // the served OCSP responder agrees (the server reads what the CLI wrote)
    for (const n of ['rev-1', 'rev-2', 'rev-3']) await expectOcspRevoked(serials.get(n)!, 'keyCompromise');
    const kept = await ocsp(serials.get('keep-2')!);
    expect(kept).toMatch(/Response verify OK/);
    expect(kept).toMatch(/leaf\.pem: good/);
  });

  it('revokes a list of serials; an already revoked and an unknown one are reported, the rest revoked', async () => {
    writeFileSync(join(dir, 'serials.txt'), `# to revoke\n${serials.get('keep-1')}\n${serials.get('rev-1')}\n`);
    const r = pkim(
      'cert',
      'revoke-batch',
      'ffffffffffffffff',
      '--serials-file',
      'serials.txt',
      '--reason',
      'superseded',
      '--json',
    );
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('bulk.rows_failed');
    const out = r.json<Outcome>();
    expect(out.items.map((i) => [i.ref, i.status === 'failed' ? i.error?.code : i.status])).toEqual([
      ['ffffffffffffffff', 'certificate.not_found'],
      [serials.get('keep-1'), 'revoked'],
      [serials.get('rev-1'), 'certificate.already_revoked'],
    ]);
    expect(crlEntry(crl(), serials.get('keep-1')!)).toBe('Superseded');
    await expectOcspRevoked(serials.get('keep-1')!, 'superseded');
    // never everything by accident
    const none = pkim('cert', 'revoke-batch', '--reason', 'superseded');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: input\.invalid: a batch needs serials or at least one filter/m);
  });

  it('renews everything expiring within 30 days, revoking the old ones as superseded', async () => {
    const r = pkim('cert', 'renew-batch', '--ca', 'issuing', '--expiring-within', '30d', '--revoke-old', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<Outcome>();
    expect(out.items.map((i) => i.serial).sort()).toEqual([serials.get('soon-1'), serials.get('soon-2')].sort());
    const text = crl();
    for (const item of out.items) {
      expect(crlEntry(text, item.serial!)).toBe('Superseded');
      await expectOcspRevoked(item.serial!, 'superseded');
      const shown = pkim('cert', 'show', item.newSerial!, '--json').json<{
        renewedFrom: string;
        certificatePem: string;
      }>();
      expect(shown.renewedFrom).toBeTruthy();
      const v = opensslVerify({ leafPem: shown.certificatePem, chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('downloads the active certificates as one ZIP of PEM and chain files that openssl verifies', () => {
    const zip = join(dir, 'active.zip');
    const r = pkim('cert', 'download-batch', '--ca', 'issuing', '--status', 'active', '--out', zip, '--json');
    expect(r.code, r.stderr).toBe(0);
    // keep-2 and the two renewals
    expect(r.json<Outcome>().succeeded).toBe(3);
    const members = unzipSync(readFileSync(zip));
    const names = Object.keys(members).sort();
    expect(names).toHaveLength(6);
    expect(names.some((n) => n.startsWith('keep-2.example.com-') && n.endsWith('.chain.pem'))).toBe(true);
    for (const name of names.filter((n) => n.endsWith('.chain.pem'))) {
      const chain = Buffer.from(members[name]!).toString('utf8');
      const [leaf, ...issuers] = chain.split(/(?<=-----END CERTIFICATE-----\n)/);
      expect(issuers).toHaveLength(2); // issuing + root
      const v = opensslVerify({ leafPem: leaf!, chainPems: [issuers[0]!], rootPem });
      expect(v.ok, v.output).toBe(true);
      expect(Buffer.from(members[name.replace('.chain.pem', '.pem')]!).toString('utf8')).toBe(leaf);
    }
  });
  it('a filter naming no profile (and no certificate) or no CA is refused in one line, exit ≠ 0, nothing done', () => {
    const before = pkim('cert', 'list', '--limit', '1000', '--json').stdout;
    const refused = (args: string[], code: string) => {
      const r = pkim(...args);
      expect([args.join(' '), r.code === 0]).toEqual([args.join(' '), false]);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(code);
    };
    for (const batch of [
      ['renew-batch'],
      ['revoke-batch', '--reason', 'superseded'],
      ['download-batch', '--out', join(dir, 'none.zip')],
    ]) {
      refused(['cert', ...batch, '--profile', 'tls-servre'], 'profile.not_found');
      refused(['cert', ...batch, '--ca', 'issuign'], 'ca.not_found');
    }
    refused(['cert', 'list', '--profile', 'tls-servre'], 'profile.not_found');
    refused(['cert', 'list', '--profile', 'tls-servre', '--format', 'csv'], 'profile.not_found');
    refused(['cert', 'list', '--ca', 'issuign'], 'ca.not_found');
    expect(pkim('cert', 'list', '--limit', '1000', '--json').stdout).toBe(before);
    expect(existsSync(join(dir, 'none.zip'))).toBe(false);
    // a profile no certificate has yet is no typo: an empty list
    const r = pkim('cert', 'list', '--profile', 'code-signing', '--json');
    expect([r.code, r.json<{ items: unknown[] }>().items]).toEqual([0, []]);
  });
});
