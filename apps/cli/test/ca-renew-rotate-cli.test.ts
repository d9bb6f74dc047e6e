// `pkim ca renew` and `pkim ca rotate` in both modes (a local data directory, and a `pkim serve` through REST
// `POST /api/v1/cas/:id/renew` and `/rotate`): the same exit codes, JSON and text. An intermediate renewed with its
// key keeps verifying the leaf it issued before (openssl, certtool); a root rotated to a P-384 key gets a cross
// certificate (--cross-out), and a leaf under the new root verifies with only the old root trusted (openssl, Go).
// Refused alike, with a code, nothing changed: a validity past the parent's, an unknown CA, a disabled CA.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import {
  certtoolVerify,
  goVerify,
  opensslCrlVerifyOnly,
  opensslRaw,
  opensslVerify,
} from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-ca-lifecycle-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };

/** serials, fingerprints, PEMs and times differ between the modes */
const shape = (json: unknown): unknown =>
  JSON.parse(
    JSON.stringify(comparableShape(json, tmp.dir, ['fingerprintSha256', 'at']))
      .replace(/\b[0-9a-f]{16,64}\b/g, '<hex>')
      .replace(/-----BEGIN CERTIFICATE-----[^"]*-----END CERTIFICATE-----\\n/g, '<pem>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>'),
  ) as unknown;

/** per mode: the text `ca renew` and `ca rotate` print */
const texts: Record<string, string[]> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  await run(
    'ca create root',
    'ca create --name lc-root --subject CN=LC-Root,O=Example --key-type ec-p256 --validity 10y',
  );
  const int = '--parent lc-root --key-type ec-p256 --validity 1y --path-len 0';
  await run('ca create int', `ca create --name lc-int --subject CN=LC-Int,O=Example ${int}`);
  await run(
    'cert issue before',
    `cert issue --ca lc-int --cn before.example.com --ttl 1d --out-cert ${f('before.pem')}`,
  );
  await run('ca renew', `ca renew lc-int --validity 200d --out ${f('int-new.pem')}`);
  await run('ca renew, past the parent', 'ca renew lc-int --validity 20y');
  await run('ca renew, unknown CA', 'ca renew no-such-ca');
  await run('ca show int', 'ca show lc-int');
  await run('ca export root', `ca export lc-root --out ${f('root.pem')}`);
  const rotate = `ca rotate lc-root --key-type ec-p384 --out ${f('root-2.pem')} --cross-out ${f('cross.pem')}`;
  await run('ca rotate root', rotate);
  await run(
    'ca create int2',
    `ca create --name lc-int2 --subject CN=LC-Int-2,O=Example --parent lc-root-2 --path-len 0`,
  );
  const outs = `--out-cert ${f('after.pem')} --out-chain ${f('after-chain.pem')}`;
  await run('cert issue after', `cert issue --ca lc-int2 --cn after.example.com --ttl 1d ${outs}`);
  await run('ca show root-2', 'ca show lc-root-2');
  // the cross certificate revoked on its own: on the old root's CRL; again, or a CA without one: refused
  await run('ca revoke-cross', 'ca revoke-cross lc-root-2 --reason cessationOfOperation');
  await run('ca revoke-cross, again', 'ca revoke-cross lc-root-2');
  await run('ca revoke-cross, no cross', 'ca revoke-cross lc-int');
  await run('crl generate root', `crl generate --ca lc-root --pem --out ${f('root-crl.pem')}`);
  await run('ca disable int', 'ca disable lc-int');
  await run('ca renew, disabled', 'ca renew lc-int');
  await run('ca rotate, disabled', 'ca rotate lc-int');
  await run('ca show int, unchanged', 'ca show lc-int');
  // the text of both commands (no --json): one more renewal and a rotation of the intermediate
  await run('ca enable int', 'ca enable lc-int');
  texts[dir] = [
    (await pkim('ca', 'renew', 'lc-int', '--validity', '100d')).stdout,
    (await pkim('ca', 'rotate', 'lc-int', '--name', 'lc-int-next', '--disable-old')).stdout,
  ];
  return steps;
}

describe('pkim ca renew and ca rotate, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and JSON in both modes, the same text', () => {
    expectSameSteps(runs.local, runs.remote, shape);
    const step = (name: string) => runs.remote[name]!;
    const error = (name: string) => (step(name).json as { error: { code: string; message: string } }).error;
    expect(step('ca renew').code).toBe(0);
    expect(step('ca renew').json).toMatchObject({
      name: 'lc-int',
      status: 'active',
      history: [{ kind: 'previous', serial: (step('ca create int').json as { serial: string }).serial }],
    });
    expect(step('ca rotate root').json).toMatchObject({
      name: 'lc-root-2',
      keyType: 'ec-p384',
      predecessorId: (step('ca create root').json as { id: string }).id,
      predecessor: { name: 'lc-root', status: 'active' },
      crossCertificatePem: expect.stringMatching(/^-----BEGIN CERTIFICATE-----/) as unknown,
    });
    expect(step('ca show root-2').json).toMatchObject({ history: [{ kind: 'cross' }] });
    expect(step('ca revoke-cross').json).toMatchObject({
      name: 'lc-root-2',
      status: 'active',
      history: [{ kind: 'cross', revocationReason: 'cessationOfOperation' }],
    });
    const refused: [string, number, string, RegExp][] = [
      ['ca renew, past the parent', 5, 'lint.lifetime_beyond_issuer', /issuer/],
      ['ca renew, unknown CA', 3, 'ca.not_found', /no-such-ca/],
      ['ca renew, disabled', 4, 'ca.not_active', /disabled/],
      ['ca rotate, disabled', 4, 'ca.not_active', /disabled/],
      ['ca revoke-cross, again', 4, 'certificate.already_revoked', /already revoked/],
      ['ca revoke-cross, no cross', 3, 'certificate.not_found', /no cross certificate/],
    ];
    for (const [name, code, pkiCode, message] of refused) {
      expect([step(name).code, error(name).code], name).toEqual([code, pkiCode]);
      expect(error(name).message, name).toMatch(message);
    }
    // the refusals changed nothing: the intermediate as after its renewal (disabled since), one certificate replaced
    const { status, ...unchanged } = step('ca show int, unchanged').json as Record<string, unknown>;
    const { status: before, updatedAt: _u, ...shown } = step('ca show int').json as Record<string, unknown>;
    expect([before, status]).toEqual(['active', 'disabled']);
    expect({ ...unchanged, updatedAt: undefined }).toEqual({ ...shown, updatedAt: undefined });
    const [local, remote] = [texts[file('local-out')]!, texts[file('remote-out')]!];
    const plain = (t: string) =>
      t
        .replace(/\b[0-9a-f]{16,64}\b/g, '<hex>')
        .replace(/ca_[0-9a-z]+/g, '<id>')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
    expect(remote.map(plain)).toEqual(local.map(plain));
    expect(local[0]).toMatch(/renewed/);
    expect(local[1]).toMatch(/rotated to lc-int-next/);
    expect(local[1]).toMatch(/predecessor:\s+disabled/);
  });

  it.each(['local-out', 'remote-out'])(
    '%s: the leaf before verifies under the renewed CA, the leaf after through the cross certificate',
    (mode) => {
      const dir = file(mode);
      const read = (name: string) => readFileSync(join(dir, name), 'utf8');
      const rootPem = read('root.pem');
      const before = read('before.pem');
      const o = opensslVerify({ leafPem: before, chainPems: [read('int-new.pem')], rootPem, purpose: 'sslserver' });
      expect(o.ok, o.output).toBe(true);
      const c = certtoolVerify({ leafPem: before, chainPems: [read('int-new.pem')], rootPem, purpose: 'serverAuth' });
      expect(c.ok, c.output).toBe(true);
      const after = read('after.pem');
      const int2 = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/.exec(read('after-chain.pem'))![0];
      const viaCross = [int2, read('cross.pem')];
      const x = opensslVerify({ leafPem: after, chainPems: viaCross, rootPem, purpose: 'sslserver' });
      expect(x.ok, x.output).toBe(true);
      const g = goVerify({ leafPem: after, intermediatesPems: viaCross, rootPem, dnsName: 'after.example.com' });
      expect(g.ok, g.output).toBe(true);
      const n = opensslVerify({ leafPem: after, chainPems: [int2], rootPem: read('root-2.pem'), purpose: 'sslserver' });
      expect(n.ok, n.output).toBe(true);
      // the old root's CRL lists the cross certificate revoked on its own (openssl reads it)
      const crl = opensslCrlVerifyOnly(
        new Uint8Array(Buffer.from(read('root-crl.pem').replace(/-----[^-]+-----|\s/g, ''), 'base64')),
        rootPem,
      );
      expect(crl.ok, crl.text).toBe(true);
      const crossSerial = opensslRaw(['x509', '-noout', '-serial'], Buffer.from(read('cross.pem'))).stdout;
      expect(crl.text.toUpperCase()).toContain(
        crossSerial
          .trim()
          .replace(/^serial=/i, '')
          .toUpperCase(),
      );
      expect(crl.text).toMatch(/Cessation Of Operation/);
    },
  );
});
