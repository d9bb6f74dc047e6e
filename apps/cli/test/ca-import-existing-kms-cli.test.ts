// `pkim ca import-existing --backend pkcs11|kmip` in both modes (a local data directory, and a `pkim serve` through
// REST `POST /api/v1/cas/import`), the backends configured from PKIM_PKCS11_* / PKIM_KMIP_* against a real SoftHSM2
// token and a real PyKMIP server: an existing root's key goes onto the token, another's into the KMS, and the leaf the
// HSM-held CA issues verifies (openssl, certtool) against the ORIGINAL root. Refused alike in both modes, exit code
// ≠ 0, one error, nothing stored (`ca list` unchanged): an EC key for PyKMIP (it holds RSA only: kms.unsupported,
// HTTP 400), a CA certificate without keyUsage unless --allow-missing-key-usage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim, runPkimAsync } from '../../../tests/support/cli-runner';
import { opensslSelfSigned, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/support/softhsm';
import { startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { keyCustodyEnv } from '../../../tests/support/key-custody-env';

const tmp = tempDir('pkim-import-kms-cli-');
const file = (name: string) => join(tmp.dir, name);
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
/** XDG and the PKIM_* of both backends, filled by the first beforeAll (the suite's own reads it after) */
const env: Record<string, string> = { XDG_CONFIG_HOME: file('xdg') };
let hsm: SoftHsmToken;
let kmip: PyKmipServer;

beforeAll(async () => {
  hsm = await createSoftHsmToken({ label: 'pkim-import-cli' });
  kmip = await startPyKmip();
  Object.assign(env, { SOFTHSM2_CONF: hsm.confPath, ...keyCustodyEnv(tmp.dir, hsm, kmip) });
}, 120_000);

afterAll(async () => {
  await kmip?.stop();
  await hsm?.cleanup();
});

const shape = (json: unknown): unknown =>
  JSON.parse(
    JSON.stringify(comparableShape(json, tmp.dir, ['fingerprint', 'keyUri'])).replace(/\b[0-9a-f]{16,64}\b/g, '<hex>'),
  ) as unknown;

/** per mode: the original root certificate of the HSM-held CA (PEM) */
const originalRoot: Record<string, string> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  const save = (name: string, c: { certPem: string; keyPem: string }) => {
    writeFileSync(f(`${name}.pem`), c.certPem);
    writeFileSync(f(`${name}.key`), c.keyPem);
    return `--cert ${f(`${name}.pem`)} --key ${f(`${name}.key`)}`;
  };
  const hsmRoot = opensslSelfSigned({ subject: '/O=Example/CN=HSM Root', days: 30, addext: CA_EXT });
  originalRoot[dir] = hsmRoot.certPem;
  const hsm = save('hsm-root', hsmRoot);
  const ec = save('ec-root', opensslSelfSigned({ subject: '/CN=EC For KMS', days: 30, addext: CA_EXT }));
  const rsa = save(
    'rsa-root',
    opensslSelfSigned({ subject: '/CN=RSA For KMS', keyType: 'rsa-2048', days: 30, addext: CA_EXT }),
  );
  const noKu = save(
    'noku-root',
    opensslSelfSigned({ subject: '/CN=No KU Root', days: 30, addext: ['basicConstraints=critical,CA:TRUE'] }),
  );
  await run('ca list before', 'ca list');
  await run('ec key for kmip', `ca import-existing ${ec} --backend kmip`);
  await run('no key usage', `ca import-existing ${noKu} --backend pkcs11`);
  await run('ca list after refusals', 'ca list');
  await run('into the hsm', `ca import-existing ${hsm} --backend pkcs11 --name hsm-root`);
  await run('into the kms', `ca import-existing ${rsa} --backend kmip --name kms-root`);
  await run('no key usage allowed', `ca import-existing ${noKu} --backend pkcs11 --allow-missing-key-usage`);
  await run('cert issue', `cert issue --ca hsm-root --cn app.example.com --ttl 1d --out-cert ${f('app.pem')}`);
  return steps;
}

describe('pkim ca import-existing into an HSM and a KMS, local and remote', () => {
  // spawned: SoftHSM2 reads SOFTHSM2_CONF (the token of this file) once per process
  const runs = bothModesSuite(tmp.dir, env, flow, { after: () => tmp.cleanup(), spawned: true });

  it('every step: the same exit code and JSON in both modes; refusals store nothing', () => {
    expectSameSteps(runs.local, runs.remote, shape);
    const step = (name: string) => runs.remote[name]!;
    const error = (name: string) => (step(name).json as { error: { code: string; message: string } }).error;
    expect([step('ec key for kmip').code, error('ec key for kmip').code]).toEqual([2, 'kms.unsupported']);
    expect(error('ec key for kmip').message).toMatch(/kmip took the ec-p256 key but cannot sign with it/);
    expect([step('no key usage').code, error('no key usage').code]).toEqual([2, 'ca.certificate_mismatch']);
    expect(error('no key usage').message).toMatch(/no keyUsage extension/);
    expect(step('ca list after refusals').json).toEqual(step('ca list before').json);
    expect(step('into the hsm').json).toMatchObject({ name: 'hsm-root', keyBackend: 'pkcs11', status: 'active' });
    expect(step('into the kms').json).toMatchObject({ name: 'kms-root', keyBackend: 'kmip', keyType: 'rsa-2048' });
    expect(step('no key usage allowed').json).toMatchObject({ name: 'No-KU-Root', keyBackend: 'pkcs11' });
    expect(step('cert issue').code).toBe(0);
  });

  it('REST answers the refusal 400 with its code, and stores nothing', async () => {
    const token = runPkim(['token', 'create', '--name', 'rest-refusal', '--role', 'admin', '--json'], {
      dataDir: file('server-data'),
      env,
    }).json<{ token: string }>().token;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${runs.server.url}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    const before = await (await api('/cas')).text();
    const ec = opensslSelfSigned({ subject: '/CN=EC Over REST', days: 30, addext: CA_EXT });
    const res = await api('/cas/import', {
      method: 'POST',
      body: JSON.stringify({ certificate: ec.certPem, privateKey: ec.keyPem, backend: 'kmip' }),
    });
    const body = (await res.json()) as { code: string; message: string };
    expect([res.status, body.code]).toEqual([400, 'kms.unsupported']);
    expect(body.message).toMatch(/cannot sign with it/);
    expect(await (await api('/cas')).text()).toBe(before);
  });

  it.each(['local-out', 'remote-out'])('%s: the HSM-held CA leaf verifies against the original root', (mode) => {
    const dir = file(mode);
    const rootPem = originalRoot[dir]!;
    const leafPem = readFileSync(join(dir, 'app.pem'), 'utf8');
    const o = opensslVerify({ leafPem, rootPem, purpose: 'sslserver', hostname: 'app.example.com' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem, rootPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
  });
});
