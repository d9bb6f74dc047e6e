// The set-up of the CLI tests that run each command locally and through a `pkim serve` alike, on one data dir
// (cli-key-files, cli-output-files): `pkim init`, a root (its certificate written to root.pem) and an issuing CA
// under it, an admin token, then the server on that data dir. `local` runs `pkim` in the test's process
// (cli-in-process.ts) in the fixture's directory; `modes` pairs it with the same command through the server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { runPkim, type CliResult } from './cli-in-process';
import { startPkimServer, type PkimServer } from './remote-server';
import { tempDir } from './openssl-tools';
import { opensslVerify } from './verifiers';

export interface CliTwoModesFixture {
  /** the fixture's directory (the working directory of every run) */
  dir: string;
  /** a path in that directory */
  file: (name: string) => string;
  dataDir: string;
  /** XDG_CONFIG_HOME in the fixture's directory: no run reads or writes the user's CLI config */
  env: Record<string, string>;
  /** `pkim <args>` on the data dir */
  local: (...args: string[]) => CliResult;
  /** ['local', local] and ['remote', the same through the server with the admin token] */
  modes: [string, (...args: string[]) => CliResult][];
  /** how many certificates the data dir holds (`cert list`) */
  certificates: () => number;
  /** openssl verifies the certificate file under the issuing CA and the root */
  verifies: (certPath: string) => void;
  /** the server, once beforeAll has run */
  server: () => PkimServer;
  /** the issuing CA's certificate (PEM), once beforeAll has run */
  issuingPem: () => string;
}

/**
 * Registers the beforeAll that makes the data dir, its CAs (`${name} Root`, `${name} CA`), an admin token and the
 * server, and the afterAll that stops the server and removes the directory.
 */
export function cliTwoModesFixture(prefix: string, name: string): CliTwoModesFixture {
  // (prefix: the directory's; name: the CAs' subjects and, lower-case, the token's)
  const tmp = tempDir(prefix);
  const file = (f: string) => join(tmp.dir, f);
  const env = { XDG_CONFIG_HOME: file('xdg') };
  const dataDir = file('data');
  const local = (...args: string[]) => runPkim(args, { dataDir, cwd: tmp.dir, env });
  let server: PkimServer | undefined;
  let token = '';
  let rootPem = '';
  let issuingPem = '';
  const started = () => {
    if (!server) throw new Error('the fixture server is not running (beforeAll has not run)');
    return server;
  };

  beforeAll(async () => {
    expect(local('init').code).toBe(0);
    const root = local('ca', 'create', '--name', 'root', '--subject', `CN=${name} Root`, '--out', file('root.pem'));
    expect(root.code, root.stderr).toBe(0);
    const issuing = local('ca', 'create', '--name', 'issuing', '--parent', 'root', '--subject', `CN=${name} CA`);
    expect(issuing.code, issuing.stderr).toBe(0);
    rootPem = readFileSync(file('root.pem'), 'utf8');
    issuingPem = local('ca', 'export', 'issuing').stdout;
    const tokenName = name.toLowerCase().replace(/ /g, '-');
    const created = local('token', 'create', '--name', tokenName, '--role', 'admin', '--json');
    expect(created.code, created.stderr).toBe(0);
    token = created.json<{ token: string }>().token;
    server = await startPkimServer(dataDir, [], env);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  return {
    dir: tmp.dir,
    file,
    dataDir,
    env,
    local,
    modes: [
      ['local', local],
      ['remote', (...args) => local('--server', started().url, '--token', token, ...args)],
    ],
    certificates: () => local('cert', 'list', '--json').json<{ items: unknown[] }>().items.length,
    verifies: (certPath) => {
      const v = opensslVerify({ leafPem: readFileSync(certPath, 'utf8'), chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    },
    server: started,
    issuingPem: () => issuingPem,
  };
}

/** a command refused because it would replace a private key file: exit 4, nothing on stdout, `line` on stderr */
export function expectKeyFileRefused(r: CliResult, line: string): void {
  expect(r.code, r.stderr).toBe(4);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`error: output.key_file_exists: ${line}\n`);
}

/** the message of a refused key file that exists */
export const keyFileExists = (path: string) =>
  `'${path}' already exists: a private key file is not replaced (--force replaces it)`;
