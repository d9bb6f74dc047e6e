// `pkim completion bash|zsh` completes CA and SSH CA names (issue #17 item 2): the scripts call the real `pkim` on
// PATH (`pkim __complete ca|ssh-ca`) with the global options of the command line, so the names come from the data
// dir of --data-dir/PKIM_DATA_DIR, or from the server of --server/--token through its REST API; a server that never
// answers gives no names (pkim gives up after 2 s) instead of a hung shell.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-in-process';
import { completionShells, type CompletionShells } from '../../../tests/support/completion-shells';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';
import { requireBinary } from '../../../tests/support/verifiers';

describe('pkim completion: CA names', () => {
  const tmp = tempDir('pkim-completion-names-');
  const dataDir = join(tmp.dir, 'data');
  const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
  const pkim = (...args: string[]) => runPkim(args, { dataDir, init: false, env: XDG });
  let shells: CompletionShells;
  const complete = (...words: string[]) => shells.bash(...words);

  beforeAll(() => {
    shells = completionShells(tmp.dir, dataDir, XDG);
    writeFileSync(join(tmp.dir, 'names.txt'), '');
  });
  afterAll(() => tmp.cleanup());

  it('bash: CA and SSH CA names from the data dir, of the --data-dir given on the command line too', () => {
    expect(complete('pkim', 'ca', 'show', 'a')).toEqual([]); // no data dir yet: nothing, and no error
    for (const args of [
      ['init'],
      ['ca', 'create', '--name', 'ab', '--subject', 'CN=AB', '--key-type', 'ec-p256'],
      ['ca', 'create', '--name', 'root-one', '--subject', 'CN=Root One', '--key-type', 'ec-p256'],
      ['ssh', 'ca', 'create', '--name', 'ops-users', '--type', 'user'],
    ]) {
      const r = pkim(...args);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(complete('pkim', 'ca', 'show', '')).toEqual(['ab', 'root-one']);
    expect(complete('pkim', 'cert', 'sign', '--ca', 'r')).toEqual(['root-one']);
    expect(complete('pkim', 'cert', 'sign', '--ca=a')).toEqual(['--ca=ab']);
    expect(complete('pkim', 'ca', 'create', '--parent', '=', '')).toEqual(['ab', 'root-one']);
    // under `pkim ssh`, --ca and <ca> name SSH CAs
    expect(complete('pkim', 'ssh', 'sign', '--ca', '')).toEqual(['ops-users']);
    expect(complete('pkim', 'ssh', 'ca', 'show', 'o')).toEqual(['ops-users']);
    // the second argument of `ca show` is not a CA: files
    expect(complete('pkim', 'ca', 'show', 'ab', 'nam')).toEqual(['names.txt']);
    // the command line's --data-dir wins over PKIM_DATA_DIR
    expect(complete('pkim', '--data-dir', join(tmp.dir, 'elsewhere'), 'ca', 'show', 'a')).toEqual([]);
    expect(complete('pkim', `--data-dir=${dataDir}`, 'ca', 'show', '')).toEqual(['ab', 'root-one']);
  }, 60_000);

  it('zsh: the widget completes CA names in a real zsh', () => {
    requireBinary('zsh');
    expect(shells.zsh('pkim', 'cert', 'sign', '--ca', 'r')).toEqual(['root-one']);
    expect(shells.zsh('pkim', 'cert', 'list', '--ca=')).toEqual(['--ca=ab', '--ca=root-one']);
  }, 30_000);

  describe('from a server (--server/--token)', () => {
    let server: PkimServer | undefined;
    let silent: Server | undefined;
    const sockets = new Set<Socket>();
    let token = '';
    beforeAll(async () => {
      const serverData = join(tmp.dir, 'server-data');
      for (const args of [
        ['ca', 'create', '--name', 'far-ca', '--subject', 'CN=Far', '--key-type', 'ec-p256'],
        ['token', 'create', '--name', 'completion', '--role', 'auditor', '--json'],
      ]) {
        const r = runPkim(args, { dataDir: serverData, env: XDG });
        expect(r.code, r.stderr).toBe(0);
        if (args[0] === 'token') token = r.json<{ token: string }>().token;
      }
      server = await startPkimServer(serverData, [], XDG);
      silent = createServer((s) => sockets.add(s)); // accepts, never answers
      await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', r));
    }, 60_000);
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
      await server?.stop();
    });

    it("completes the server's CA names, not the local ones; a silent server gives none, without hanging", () => {
      expect(complete('pkim', '--server', server!.url, '--token', token, 'cert', 'list', '--ca', '')).toEqual([
        'far-ca',
      ]);
      expect(complete('pkim', `--server=${server!.url}`, `--token=${token}`, 'ca', 'show', 'f')).toEqual(['far-ca']);
      // --local on the command line: the data dir's
      expect(complete('pkim', '--server', server!.url, '--local', 'ca', 'show', '')).toEqual(['ab', 'root-one']);
      // a wrong token: nothing (the error is not printed into the shell)
      expect(complete('pkim', '--server', server!.url, '--token', 'pkim_nope', 'ca', 'show', 'f')).toEqual([]);
      // a server that never answers: pkim gives up after 2 s and bash offers files (a hung completion would be
      // killed after 30 s by completionShells and fail)
      const port = (silent!.address() as { port: number }).port;
      expect(complete('pkim', '--server', `http://127.0.0.1:${port}`, '--token', 'x', 'ca', 'show', 'nam')).toEqual([
        'names.txt',
      ]);
    }, 60_000);
  });
});
