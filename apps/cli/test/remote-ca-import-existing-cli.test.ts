// `pkim ca import-existing` in both modes (a local data directory, and a `pkim serve` through REST `POST
// /api/v1/cas/import`): an existing root made by openssl, its key encrypted (PKCS#8, AES-256) with the password in a
// file, becomes an active CA that issues; openssl and certtool verify its leaf against the ORIGINAL root certificate.
// Refused alike in both modes, each with its code, exit code ≠ 0 and nothing stored (`ca list` unchanged): the
// encrypted key without its password, a wrong password, a key of another certificate, a certificate that is not a CA,
// a file that is no key, and the same CA a second time.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { opensslSelfSigned, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-import-existing-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

const shape = (json: unknown): unknown =>
  JSON.parse(
    JSON.stringify(comparableShape(json, tmp.dir, ['fingerprint'])).replace(/\b[0-9a-f]{16,64}\b/g, '<hex>'),
  ) as unknown;

/** per mode: the original root certificate (PEM) */
const originalRoot: Record<string, string> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  const root = opensslSelfSigned({ subject: '/O=Example/CN=Old Root', days: 30, addext: CA_EXT });
  const other = opensslSelfSigned({ subject: '/CN=Other Root', days: 30, addext: CA_EXT });
  const leaf = opensslSelfSigned({ subject: '/CN=Not A CA', days: 30, addext: ['basicConstraints=CA:FALSE'] });
  originalRoot[dir] = root.certPem;
  writeFileSync(f('root.pem'), root.certPem);
  writeFileSync(f('root.plain.key'), root.keyPem);
  execFileSync(
    'openssl',
    ['pkey', '-in', f('root.plain.key'), '-aes256', '-passout', 'pass:correct horse'].concat(['-out', f('root.key')]),
  );
  writeFileSync(f('pw'), 'correct horse\n');
  writeFileSync(f('wrong-pw'), 'battery staple\n');
  writeFileSync(f('other.key'), other.keyPem);
  writeFileSync(f('leaf.pem'), leaf.certPem);
  writeFileSync(f('leaf.key'), leaf.keyPem);
  writeFileSync(f('garbage.key'), 'not a key\n');
  const cert = `--cert ${f('root.pem')}`;
  await run('ca list before', 'ca list');
  await run('no password', `ca import-existing ${cert} --key ${f('root.key')}`);
  await run('wrong password', `ca import-existing ${cert} --key ${f('root.key')} --key-password-file ${f('wrong-pw')}`);
  await run('another key', `ca import-existing ${cert} --key ${f('other.key')}`);
  await run('not a CA', `ca import-existing --cert ${f('leaf.pem')} --key ${f('leaf.key')}`);
  await run('garbage key', `ca import-existing ${cert} --key ${f('garbage.key')}`);
  await run('ca list after refusals', 'ca list');
  await run('import', `ca import-existing ${cert} --key ${f('root.key')} --key-password-file ${f('pw')}`);
  await run('import again', `ca import-existing ${cert} --key ${f('root.key')} --key-password-file ${f('pw')}`);
  await run('cert issue', `cert issue --ca Old-Root --cn app.example.com --ttl 1d --out-cert ${f('app.pem')}`);
  return steps;
}

describe('pkim ca import-existing, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and JSON in both modes; refusals store nothing', () => {
    expectSameSteps(runs.local, runs.remote, shape);
    const step = (name: string) => runs.remote[name]!;
    const error = (name: string) => (step(name).json as { error: { code: string; message: string } }).error;
    const refused: [string, number, string, RegExp][] = [
      ['no password', 2, 'key.invalid', /encrypted: give its password/],
      ['wrong password', 2, 'key.invalid', /could not be decrypted/],
      ['another key', 2, 'ca.certificate_mismatch', /public keys differ/],
      ['not a CA', 2, 'ca.certificate_mismatch', /CA:FALSE/],
      ['garbage key', 2, 'key.invalid', /no PEM private key/],
      ['import again', 4, 'ca.name_taken', /already holds this certificate/],
    ];
    for (const [name, code, pkiCode, message] of refused) {
      expect([step(name).code, error(name).code], name).toEqual([code, pkiCode]);
      expect(error(name).message, name).toMatch(message);
    }
    expect(step('ca list after refusals').json).toEqual(step('ca list before').json);
    expect(step('import').code).toBe(0);
    expect(step('import').json).toMatchObject({ name: 'Old-Root', status: 'active', parentId: null });
    expect(step('cert issue').code).toBe(0);
  });

  it.each(['local-out', 'remote-out'])(
    '%s: the leaf verifies against the original root (openssl, certtool)',
    (mode) => {
      const dir = file(mode);
      const rootPem = originalRoot[dir]!;
      const runOf = mode === 'local-out' ? runs.local : runs.remote;
      expect((runOf.import!.json as { certificatePem: string }).certificatePem.trim()).toBe(rootPem.trim());
      const leafPem = readFileSync(join(dir, 'app.pem'), 'utf8');
      const o = opensslVerify({ leafPem, rootPem, purpose: 'sslserver', hostname: 'app.example.com' });
      expect(o.ok, o.output).toBe(true);
      const c = certtoolVerify({ leafPem, rootPem, purpose: 'serverAuth' });
      expect(c.ok, c.output).toBe(true);
    },
  );
});
