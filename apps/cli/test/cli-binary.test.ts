// The real `pkim` binary, one spawned test per command group: what the in-process runner (tests/support/
// cli-in-process.ts, used by the other CLI tests) does not show — a Node process per command with its exit code,
// stdout and stderr as separate pipes (the JSON on stdout alone, errors as one line on stderr alone), stdin as a
// pipe, and the compiled bundle's command chunks each loading and running. `pkim serve` is spawned by
// tests/support/remote-server.ts (the remote-* tests) and apps/server/test/serve-command.test.ts; what a command
// loads at start-up is apps/cli/test/startup-loads.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPkim, type CliResult } from '../../../tests/support/cli-runner';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerifyOnly, opensslVerify } from '../../../tests/support/verifiers';

const tmp = tempDir('pkim-binary-');
const dataDir = join(tmp.dir, 'data');
const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
const pkim = (args: string[], input?: string) => runPkim(args, { dataDir, env: XDG, init: false, input });

/** exit 0, the JSON on stdout and nothing but `warning: …` lines on stderr */
function json(args: string[], input?: string) {
  const r = pkim([...args, '--json'], input);
  expect(r.code, `pkim ${args.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toMatch(/^(warning: [^\n]+\n)*$/);
  return r.json<Record<string, unknown> & { items?: unknown[] }>();
}

/** exit `code`, nothing on stdout, one line `error: <error>: …` on stderr (or with --json the error object) */
function refused(r: CliResult, code: number, error: string | RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const line = r.stderr.trimEnd();
  expect(line.split('\n')).toHaveLength(1);
  if (line.startsWith('{')) expect((JSON.parse(line) as { error: { code: string } }).error.code).toMatch(error);
  else expect(line).toMatch(new RegExp(`^error: ${typeof error === 'string' ? error : error.source}: `));
}

describe('the pkim binary, one command group at a time', () => {
  afterAll(() => tmp.cleanup());
  let rootPem = '';

  it('init: creates the data dir; an unknown option exits 2', () => {
    const r = pkim(['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    refused(pkim(['init', '--bogus']), 2, 'input.invalid');
  });

  it('ca: create and export as JSON; an unknown CA exits 3', () => {
    const ca = json(['ca', 'create', '--name', 'root', '--subject', 'CN=Binary Root', '--key-type', 'ec-p256']);
    expect(ca.name).toBe('root');
    rootPem = json(['ca', 'export', 'root']).pem as string;
    expect(rootPem).toContain('BEGIN CERTIFICATE');
    refused(pkim(['ca', 'show', 'nope']), 3, 'ca.not_found');
    refused(pkim(['ca', 'show', 'nope', '--json']), 3, 'ca.not_found');
    // the CA's CN, or its name but for case: the one line says which name to use
    for (const ref of ['Binary Root', 'ROOT']) {
      const r = pkim(['ca', 'show', ref]);
      refused(r, 3, 'ca.not_found');
      expect(r.stderr.trimEnd()).toBe(`error: ca.not_found: no CA with id or name '${ref}' (did you mean 'root'?)`);
    }
    // reading it: ca export, crl generate --ca
    for (const args of [
      ['ca', 'export', 'Binary Root'],
      ['crl', 'generate', '--ca', 'Binary Root'],
    ]) {
      const r = pkim(args);
      refused(r, 3, 'ca.not_found');
      expect(r.stderr.trimEnd()).toBe(
        "error: ca.not_found: no CA with id or name 'Binary Root' (did you mean 'root'?)",
      );
    }
    const hinted = pkim(['vault', 'mount', 'pki-hint', '--ca', 'Binary Root', '--json']);
    refused(hinted, 3, 'ca.not_found');
    expect(JSON.parse(hinted.stderr) as unknown).toMatchObject({
      error: { message: "no CA with id or name 'Binary Root' (did you mean 'root'?)" },
    });
  });

  it('cert: signs a CSR read from stdin (openssl verifies it); an unknown option exits 2', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=bin.example.com',
      sans: ['DNS:bin.example.com'],
    });
    const out = join(tmp.dir, 'bin.pem');
    const signed = json(
      ['cert', 'sign', '--ca', 'root', '--csr', '-', '--profile', 'tls-server', '--out', out],
      csrPem,
    );
    expect(signed.serial).toBeTypeOf('string');
    const leafPem = readFileSync(out, 'utf8');
    const v = opensslVerify({ leafPem, rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    expect(json(['cert', 'list']).items).toHaveLength(1);
    refused(pkim(['cert', 'list', '--bogus']), 2, 'input.invalid');
  });

  it('crl: a DER CRL openssl verifies; an unknown CA exits 3', () => {
    const out = join(tmp.dir, 'root.crl');
    const r = pkim(['crl', 'generate', '--ca', 'root', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const v = opensslCrlVerifyOnly(readFileSync(out), rootPem);
    expect(v.ok, v.text).toBe(true);
    refused(pkim(['crl', 'generate', '--ca', 'nope', '--out', out]), 3, 'ca.not_found');
  });

  it('request, audit, profile, dashboard: lists as JSON; unknown ones exit 3', () => {
    expect(json(['request', 'list']).items).toEqual([]);
    expect(json(['dashboard']).cas).toMatchObject({ total: expect.any(Number) });
    expect(json(['audit', 'list']).items?.length).toBeGreaterThan(0);
    expect(json(['audit', 'verify']).ok).toBe(true);
    expect(json(['profile', 'list']).items?.length).toBeGreaterThan(0);
    refused(pkim(['request', 'show', 'req_nope']), 3, /[a-z_]+\.not_found/);
    refused(pkim(['profile', 'show', 'nope']), 3, /[a-z_]+\.not_found/);
  });

  it('ssh, vault, acme, spiffe, keystore, notify: lists as JSON; unknown ones are refused', () => {
    expect(json(['ssh', 'ca', 'list']).items).toEqual([]);
    expect(json(['vault', 'mounts']).items).toEqual([]);
    expect(json(['acme', 'list']).items).toEqual([]);
    expect(json(['spiffe', 'denied']).items).toEqual([]);
    expect(Object.keys(json(['keystore', 'templates']))).toEqual(expect.arrayContaining(['thales_luna', 'aws_kms']));
    expect(json(['notify', 'deliveries']).items).toEqual([]);
    refused(pkim(['ssh', 'ca', 'show', 'nope']), 3, 'ssh.ca_not_found');
    refused(pkim(['vault', 'mount', 'pki', '--ca', 'nope']), 3, 'ca.not_found');
    refused(pkim(['acme', 'disable', '--ca', 'nope']), 3, 'ca.not_found');
  });

  it('token, user: a token printed once as JSON; an unknown user exits 3', () => {
    expect(json(['token', 'create', '--name', 'bin', '--role', 'auditor']).token).toMatch(/^pkim_/);
    expect(json(['user', 'create', 'bin-user', '--role', 'auditor']).username).toBe('bin-user');
    expect(json(['user', 'list']).items).toHaveLength(1);
    refused(pkim(['user', 'set-role', 'nobody', 'admin']), 3, /[a-z_]+\.not_found/);
  });

  it('db, backup, restore: migrate, a backup file, a restore that refuses a database holding data', () => {
    expect(pkim(['db', 'migrate']).code).toBe(0);
    const file = join(tmp.dir, 'backup.pkim');
    const b = pkim(['backup', '--out', file]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(file).length).toBeGreaterThan(0);
    refused(pkim(['restore', '--from', file]), 4, /[a-z_.]+/);
  });

  it('login, logout, completion: no server to log in to; a bash script; an unknown shell exits 2', () => {
    writeFileSync(join(tmp.dir, 'token'), 'pkim_nothing\n');
    refused(pkim(['login', '--token-file', join(tmp.dir, 'token')]), 2, /[a-z_.]+/);
    expect(pkim(['logout']).code).toBe(0);
    const c = pkim(['completion', 'bash']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('complete -o default -F _pkim pkim');
    refused(pkim(['completion', 'fish']), 2, 'input.invalid');
  });
});
