// `pkim cert revoke --pem <file>` (and `--pem -`: stdin) in both modes: locally the authority's revokePresented, with
// --server the procedure certificate.revokePresented (REST POST /api/v1/certificates/revoke), chosen by the option in
// the remote command table. The same exit codes and one-line reasons for bad input in both (no file, not a
// certificate, a <ref> and --pem, neither, --ca without --pem, a revoked one again), nothing revoked by them; two
// certificates revoked by their PEM (one from stdin, one naming its CA) are on the CA's CRL, verified by openssl.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPkim, runPkimAsync, type CliResult } from '../../../tests/support/cli-in-process';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';
import { createRootAndIssuingAsync } from '../../../tests/support/cli-ca-fixture';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify } from '../../../tests/support/verifiers';

const tmp = tempDir('pkim-revoke-pem-');
const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
type Pkim = (args: string[], input?: string) => Promise<CliResult>;
interface Run {
  bad: Record<string, { code: number; stderr: string }>;
  statusAfterBad: string;
  revoked: Record<string, unknown>[];
  again: { code: number; stderr: string };
  serials: string[];
  crlDer: Buffer;
  issuingPem: string;
}
const runs: Partial<Record<'local' | 'remote', Run>> = {};
let server: PkimServer | undefined;

async function flow(pkim: Pkim, dir: string): Promise<Run> {
  const ok = async (args: string[], input?: string) => {
    const r = await pkim(args, input);
    if (r.code !== 0) throw new Error(`pkim ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const { issuing } = await createRootAndIssuingAsync(
    (...args) => pkim(args),
    { name: 'rp-root', subject: 'CN=RP Root', keyType: 'ec-p256' },
    { name: 'rp-issuing', subject: 'CN=RP Issuing', keyType: 'ec-p256' },
  );
  const pems: string[] = [];
  for (const cn of ['a.example.com', 'b.example.com']) {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    writeFileSync(join(dir, `${cn}.csr`), csrPem);
    const out = join(dir, `${cn}.pem`);
    await ok(['cert', 'sign', '--ca', 'rp-issuing', '--csr', join(dir, `${cn}.csr`), '--out-cert', out, '--json']);
    pems.push(out);
  }
  const [a, b] = pems as [string, string];
  const listed = await ok(['cert', 'list', '--ca', 'rp-issuing', '--json']);
  const serials = (listed.items as { serial: string }[]).map((c) => c.serial);
  writeFileSync(
    join(dir, 'junk.pem'),
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  const bad: Run['bad'] = {};
  const lines: Record<string, string[]> = {
    'no file': ['cert', 'revoke', '--pem', join(dir, 'missing.pem')],
    'not a certificate': ['cert', 'revoke', '--pem', join(dir, 'junk.pem')],
    'a ref and --pem': ['cert', 'revoke', serials[0]!, '--pem', a],
    neither: ['cert', 'revoke'],
    '--ca without --pem': ['cert', 'revoke', serials[0]!, '--ca', 'rp-issuing'],
  };
  for (const [name, args] of Object.entries(lines)) {
    const r = await pkim(args);
    bad[name] = { code: r.code, stderr: r.stderr.replace(dir, '<dir>') };
  }
  const statuses = await ok(['cert', 'list', '--ca', 'rp-issuing', '--status', 'active', '--json']);
  const statusAfterBad = `${(statuses.items as unknown[]).length} active`;
  const revoked = [
    await ok(['cert', 'revoke', '--pem', a, '--reason', 'keyCompromise', '--ca', 'rp-issuing', '--json']),
    await ok(['cert', 'revoke', '--pem', '-', '--json'], readFileSync(b, 'utf8')),
  ];
  const againRun = await pkim(['cert', 'revoke', '--pem', a]);
  const again = { code: againRun.code, stderr: againRun.stderr };
  const crlPath = join(dir, 'issuing.crl');
  await ok(['crl', 'generate', '--ca', 'rp-issuing', '--out', crlPath, '--json']);
  return {
    bad,
    statusAfterBad,
    revoked,
    again,
    serials,
    crlDer: readFileSync(crlPath),
    issuingPem: issuing.certificatePem as string,
  };
}

beforeAll(async () => {
  const created = runPkim(['token', 'create', '--name', 'revoker', '--role', 'admin', '--json'], {
    dataDir: join(tmp.dir, 'server-data'),
    env: XDG,
  });
  if (created.code !== 0) throw new Error(created.stderr);
  const token = created.json<{ token: string }>().token;
  server = await startPkimServer(join(tmp.dir, 'server-data'), [], XDG);
  const remoteEnv = { ...XDG, PKIM_SERVER: server.url, PKIM_TOKEN: token };
  for (const d of ['local-out', 'remote-out']) mkdirSync(join(tmp.dir, d), { recursive: true });
  const [local, remote] = await Promise.all([
    flow(
      (args, input) => runPkimAsync(args, { dataDir: join(tmp.dir, 'local-data'), env: XDG, input }),
      join(tmp.dir, 'local-out'),
    ),
    flow(
      (args, input) =>
        runPkimAsync(args, { dataDir: join(tmp.dir, 'no-data-here'), init: false, env: remoteEnv, input }),
      join(tmp.dir, 'remote-out'),
    ),
  ]);
  runs.local = local;
  runs.remote = remote;
}, 300_000);
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('pkim cert revoke --pem, local and --server', () => {
  it('bad input: exit ≠ 0 with one line, the same in both modes, nothing revoked', () => {
    const { local, remote } = runs as Required<typeof runs>;
    for (const run of [local, remote]) {
      for (const [name, r] of Object.entries(run.bad)) {
        expect(r.code, name).not.toBe(0);
        expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      }
      expect(run.bad['no file']!.stderr).toContain("cannot read certificate file '<dir>/missing.pem'");
      expect(run.bad['not a certificate']!.stderr).toContain("certificate file '<dir>/junk.pem'");
      expect(run.bad['a ref and --pem']!.stderr).toContain('not both');
      expect(run.bad.neither!.stderr).toContain('give the certificate to revoke');
      expect(run.bad['--ca without --pem']!.stderr).toContain('--ca names the issuer of a --pem certificate only');
      expect(run.statusAfterBad).toBe('2 active');
      expect(run.again.code).not.toBe(0);
      expect(run.again.stderr).toContain('already revoked');
    }
    const codes = (run: Run) => Object.fromEntries(Object.entries(run.bad).map(([k, r]) => [k, [r.code, r.stderr]]));
    expect(codes(remote)).toEqual(codes(local));
    expect(remote.again.code).toBe(local.again.code);
  });

  it('revokes by PEM (a file naming its CA, stdin without): on the CRL, verified by openssl', () => {
    for (const run of Object.values(runs)) {
      expect(run.revoked.map((r) => [r.status, r.revocationReason])).toEqual([
        ['revoked', 'keyCompromise'],
        ['revoked', 'unspecified'],
      ]);
      expect(new Set(run.revoked.map((r) => r.serial))).toEqual(new Set(run.serials));
      const crl = opensslCrlVerify(run.crlDer, run.issuingPem);
      expect(crl.ok, crl.text).toBe(true);
      for (const serial of run.serials) expect(crl.text.toLowerCase()).toContain(serial.replace(/^0+/, ''));
      expect(crl.text).toContain('Key Compromise');
    }
  });
});
