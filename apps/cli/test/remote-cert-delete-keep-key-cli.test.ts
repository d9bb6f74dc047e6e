// `pkim cert delete` in both modes (once on a local data directory, once through a `pkim serve`: REST
// `DELETE /api/v1/certificates/:ref`): the same exit codes and `--json` for a live certificate and a revoked one that
// has not expired (refused: `certificate.not_deletable`), an unknown one (`certificate.not_found`) and an expired one
// (deleted, then gone). The expired one is issued with a lifetime of 1 s and the flow waits until its notAfter has
// passed (no assertion on time). And `pkim cert issue --keep-key` (the server keeps the key sealed), then
// `cert export --format p12` with that key, in both modes. openssl verifies every certificate the flow issued against
// the CA and reads the PKCS#12 files: the key in each is the certificate's.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim, runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-delete-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };

/** serials and times inside messages differ between the modes as the fields do */
const shape = (json: unknown): unknown =>
  JSON.parse(
    JSON.stringify(comparableShape(json, tmp.dir, ['fingerprint']))
      .replace(/\b[0-9a-f]{16,64}\b/g, '<hex>')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>'),
  ) as unknown;

/** per mode: the CA's PEM, the short-lived certificate's notAfter (epoch s) */
const made: Record<string, { caPem: string; shortNotAfter: number }> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  const ca = await run('ca create', 'ca create --name dl-root --subject CN=Delete-Root --key-type ec-p256');
  const issue = (name: string, ttl: string) =>
    run(`cert issue ${name}`, `cert issue --ca dl-root --cn ${name}.example.com --ttl ${ttl} --out-cert ${f(name)}`);
  const live = await issue('live', '1d');
  const revoked = await issue('revoked', '1d');
  const short = await issue('short', '1s');
  await run('cert revoke', `cert revoke ${String(revoked.serial)} --reason superseded`);
  await run('cert delete live (refused)', `cert delete ${String(live.serial)}`);
  await run('cert delete revoked, not expired (refused)', `cert delete ${String(revoked.serial)}`);
  await run('cert delete unknown', 'cert delete crt_nosuchcertificate00000');
  const notAfter = Date.parse(String(short.notAfter));
  while (Date.now() <= notAfter) await new Promise((r) => setTimeout(r, notAfter + 1 - Date.now()));
  await run('cert delete expired', `cert delete ${String(short.serial)}`);
  await run('cert show deleted', `cert show ${String(short.serial)}`);
  await run('cert delete again', `cert delete ${String(short.serial)}`);
  await run('cert show live', `cert show ${String(live.serial)}`);
  // a key the server keeps: exported later in a PKCS#12 file
  writeFileSync(f('password'), 'a long enough password 1\n');
  const kept = await run(
    'cert issue --keep-key',
    `cert issue --ca dl-root --cn kept.example.com --keep-key --out-cert ${f('kept')}`,
  );
  await run(
    'cert export p12 with the kept key',
    `cert export ${String(kept.serial)} --format p12 --password-file ${f('password')} --out ${f('kept.p12')}`,
  );
  made[dir] = { caPem: String(ca.certificatePem), shortNotAfter: Math.floor(notAfter / 1000) };
  return steps;
}

describe('pkim cert delete, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and the same JSON in both modes', () => {
    expectSameSteps(runs.local, runs.remote, shape);
    const error = (step: string) => runs.remote[step]!.json as { error: { code: string; message: string } };
    for (const step of ['cert delete live (refused)', 'cert delete revoked, not expired (refused)']) {
      expect(runs.remote[step]!.code, step).toBe(4);
      expect(error(step).error.code, step).toBe('certificate.not_deletable');
    }
    expect(error('cert delete live (refused)').error.message).toMatch(/only expired certificates can be deleted/);
    expect(error('cert delete revoked, not expired (refused)').error.message).toMatch(/stays on the CRL/);
    for (const step of ['cert delete unknown', 'cert show deleted', 'cert delete again']) {
      expect(runs.remote[step]!.code, step).toBe(3);
      expect(error(step).error.code, step).toBe('certificate.not_found');
    }
    const deleted = runs.remote['cert delete expired']!;
    expect(deleted.code, JSON.stringify(deleted.json)).toBe(0);
    expect(deleted.json).toMatchObject({ deleted: { commonName: 'short.example.com', status: 'active' } });
    expect(runs.remote['cert show live']!.json).toMatchObject({ commonName: 'live.example.com', status: 'active' });
  });

  it.each(['local-out', 'remote-out'])('%s: the certificates verify against the CA (openssl)', (mode) => {
    const { caPem, shortNotAfter } = made[file(mode)]!;
    for (const name of ['live', 'revoked', 'short', 'kept']) {
      const leafPem = readFileSync(file(`${mode}/${name}`), 'utf8');
      const at = name === 'short' ? { atTime: shortNotAfter - 1 } : {};
      const v = opensslVerify({ leafPem, rootPem: caPem, purpose: 'sslserver', ...at });
      expect(v.ok, `${name}: ${v.output}`).toBe(true);
    }
  });

  it.each(['local-out', 'remote-out'])(
    '%s: the PKCS#12 file holds the kept key of the certificate (openssl)',
    (mode) => {
      const exported = (mode === 'local-out' ? runs.local : runs.remote)['cert export p12 with the kept key']!;
      expect(exported.code, JSON.stringify(exported.json)).toBe(0);
      expect(exported.json).toMatchObject({ containsPrivateKey: true });
      const p12 = file(`${mode}/kept.p12`);
      const pass = `file:${file(`${mode}/password`)}`;
      const pub = (args: string[]) => {
        const r = opensslRaw(args);
        expect(r.status, r.output).toBe(0);
        return r.stdout;
      };
      const key = pub(['pkcs12', '-in', p12, '-passin', pass, '-nocerts', '-noenc']);
      const cert = pub(['pkcs12', '-in', p12, '-passin', pass, '-clcerts', '-nokeys']);
      expect(cert).toContain(
        readFileSync(file(`${mode}/kept`), 'utf8')
          .trim()
          .split('\n')[1],
      );
      const fromKey = opensslRaw(['pkey', '-pubout'], Buffer.from(key)).stdout;
      const fromCert = opensslRaw(['x509', '-noout', '-pubkey'], Buffer.from(cert)).stdout;
      expect(fromKey).toMatch(/BEGIN PUBLIC KEY/);
      expect(fromKey).toBe(fromCert);
    },
  );

  it('remotely, deleting is for admins: an operator token is refused and the record stays', async () => {
    const token = runPkim(['token', 'create', '--name', 'del-operator', '--role', 'operator', '--json'], {
      dataDir: file('server-data'),
      env: XDG,
    }).json<{ token: string }>().token;
    const live = (runs.remote['cert issue live']!.json as { serial: string }).serial;
    const r = await runPkimAsync(['cert', 'delete', live, '--json'], {
      dataDir: file('no-data-here'),
      init: false,
      env: { ...XDG, PKIM_SERVER: runs.server.url, PKIM_TOKEN: token },
    });
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'auth.forbidden' } });
    const shown = runPkim(['cert', 'show', live, '--json'], { dataDir: file('server-data'), env: XDG });
    expect(shown.code, shown.stderr).toBe(0);
  });
});
