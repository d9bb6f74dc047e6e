// `pkim ca delete --destroy-key` of a CA whose key other CAs use too (the issuers of one Vault mount on one
// `key_ref`: CreateCaInput.shareKeyWith), locally and through a `pkim serve` (tRPC `ca.delete`): the CA is deleted
// (exit 0) and the key kept — the command names the CAs that use it (`keyInUseBy` in `--json` and the API), never
// "could not be destroyed" (that is a backend's refusal, kms.key_destroy_failed). The last one deleted destroys it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAuthority, type Actor } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';

const admin: Actor = { id: 'usr_shared_key_cli', name: 'alice', role: 'admin' };

describe('pkim ca delete --destroy-key of a CA whose key another CA uses', { timeout: 180_000 }, () => {
  const tmp = tempDir('pkim-ca-delete-shared-');
  const dataDir = join(tmp.dir, 'data');
  const env = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: tmp.dir, env });
  const ids: Record<string, string> = {};
  let server: PkimServer | undefined;
  let token = '';

  beforeAll(async () => {
    expect(pkim('init', '--json').code).toBe(0);
    const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const first = await a.cas.create({ name: 'sk-one', subject: 'CN=SK One', keyType: 'ec-p256' }, admin);
      ids['sk-one'] = first.ca.id;
      for (const name of ['sk-two', 'sk-three']) {
        const made = await a.cas.create(
          {
            name,
            subject: `CN=${name}`,
            keyType: 'ec-p256',
            keyUri: first.ca.keyUri,
            shareKeyWith: Object.values(ids),
          },
          admin,
        );
        ids[name] = made.ca.id;
      }
      for (const id of Object.values(ids)) await a.cas.revokeCa(id, 'cessationOfOperation', admin);
    } finally {
      await a.close();
    }
    const created = pkim('token', 'create', '--name', 'shared-key', '--role', 'admin', '--json');
    expect(created.code, created.stderr).toBe(0);
    token = created.json<{ token: string }>().token;
    server = await startPkimServer(dataDir, [], env);
  });
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('deletes the CA, keeps the key and names its users; the last one destroys it', () => {
    const local = pkim('ca', 'delete', 'sk-one', '--destroy-key');
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout.trim()).toBe(
      'CA sk-one deleted; its key is kept: CA sk-two, sk-three use it too (the last of them deleted with ' +
        '--destroy-key destroys it)',
    );
    expect(local.stdout).not.toContain('could not be destroyed');

    const remote = pkim('--server', server!.url, '--token', token, 'ca', 'delete', 'sk-two', '--destroy-key', '--json');
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.json()).toEqual({
      deleted: 'sk-two',
      keyDestroyed: false,
      keyInUseBy: [{ id: ids['sk-three'], name: 'sk-three' }],
    });

    const last = pkim('ca', 'delete', 'sk-three', '--destroy-key', '--json');
    expect(last.code, last.stderr).toBe(0);
    expect(last.json()).toEqual({ deleted: 'sk-three', keyDestroyed: true });
    const audit = pkim('audit', 'list', '--json');
    expect(audit.stdout).not.toContain('kms.key_destroy_failed');
    expect(audit.stdout).toContain('kms.key_destroyed');
  });
});
