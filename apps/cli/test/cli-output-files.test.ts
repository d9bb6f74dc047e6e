// The files the CLI writes (README "Files the CLI writes"), locally and through a `pkim serve` alike: a file that would
// hold a private key (`cert export` p12/jks/key/zip with the key — with `--out` or under the suggested name —,
// `cert bulk --keys-zip`) never replaces an existing file unless `--force`: refused before anything is done
// (`output.key_file_exists`, exit 4, one line; nothing exported, issued or audited, the file untouched). A public file
// (certificate, chain, truststore) replaces an existing one, except a file holding a PEM private key. A key file is
// 0600 also when it replaces a 0644 file. Every certificate written is read back by openssl. And the files it reads:
// an error about what an input file holds names the file (`ssh sign --public-key`, `cert sign --csr`), in one line.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPkim } from '../../../tests/support/cli-in-process';
import { cliTwoModesFixture, expectKeyFileRefused, keyFileExists } from '../../../tests/support/cli-two-modes-fixture';
import { opensslSelfSigned } from '../../../tests/support/openssl-tools';

const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nprecious\n-----END PRIVATE KEY-----\n';

describe('files the CLI writes: key files never replaced silently, checked before anything is done', () => {
  const fx = cliTwoModesFixture('pkim-output-files-', 'Files');
  const { file, local, modes, certificates, verifies, dataDir } = fx;
  // the events a command here could write (the server's background jobs write their own, at their own time)
  const auditEvents = () =>
    local('audit', 'list', '--limit', '1000', '--json')
      .json<{ items: { action: string }[] }>()
      .items.filter((e) => /^(certificate|ca|bulk)\./.test(e.action)).length;
  const refused = expectKeyFileRefused;
  const exists = keyFileExists;
  const holdsKey = (path: string) =>
    `'${path}' holds a private key: not replaced by a public file (--force replaces it)`;
  let serial = '';

  beforeAll(() => {
    const issued = local('cert', 'issue', '--ca', 'issuing', '--cn', 'files.example.com', '--keep-key', '--json');
    expect(issued.code, issued.stderr).toBe(0);
    serial = issued.json<{ serial: string }>().serial;
    writeFileSync(file('pw.txt'), 'export-password\n');
  }, 60_000);

  it('cert export p12 with its key: an existing --out refused, nothing exported or audited; --force: 0600', () => {
    for (const [mode, pkim] of modes) {
      const out = file(`${mode}.p12`);
      writeFileSync(out, 'old keystore\n', { mode: 0o644 });
      const args = ['cert', 'export', serial, '--format', 'p12', '--password-file', file('pw.txt'), '--out', out];
      const before = auditEvents();
      refused(pkim(...args), exists(out));
      expect(readFileSync(out, 'utf8'), mode).toBe('old keystore\n');
      expect(auditEvents(), `${mode}: nothing audited`).toBe(before);
      const forced = pkim(...args, '--force', '--json');
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.json<{ containsPrivateKey: boolean }>().containsPrivateKey).toBe(true);
      expect(statSync(out).mode & 0o777, `${mode}: the replaced file takes 0600`).toBe(0o600);
      const pem = execFileSync('openssl', ['pkcs12', '-in', out, '-passin', `file:${file('pw.txt')}`, '-nodes']);
      expect(pem.toString()).toContain('PRIVATE KEY');
      // the key alone (PKCS#8), without --out: the suggested name in the current directory, checked before too
      const keyName = file('files.example.com.key.pem');
      writeFileSync(keyName, 'old key\n', { mode: 0o600 });
      const keyArgs = ['cert', 'export', serial, '--format', 'key', '--password-file', file('pw.txt')];
      refused(pkim(...keyArgs), exists('files.example.com.key.pem'));
      expect(readFileSync(keyName, 'utf8')).toBe('old key\n');
      expect(auditEvents(), `${mode}: nothing audited`).toBe(before + 1);
      expect(pkim(...keyArgs, '--force').code).toBe(0);
      expect(readFileSync(keyName, 'utf8')).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    }
  });

  it('public files replace a certificate, never a PEM private key without --force', () => {
    for (const [mode, pkim] of modes) {
      const cert = file(`${mode}-cert.pem`);
      writeFileSync(cert, 'an old certificate\n');
      const pem = pkim('cert', 'export', serial, '--format', 'pem', '--out', cert);
      expect(pem.code, pem.stderr).toBe(0);
      verifies(cert);
      const key = file(`${mode}-web.key`);
      writeFileSync(key, PEM_KEY, { mode: 0o600 });
      const before = auditEvents();
      refused(pkim('cert', 'export', serial, '--format', 'pem', '--out', key), holdsKey(key));
      refused(pkim('ca', 'truststore', 'issuing', '--format', 'pem', '--out', key), holdsKey(key));
      refused(pkim('ca', 'export', 'issuing', '--out', key), holdsKey(key));
      const issue = ['cert', 'issue', '--ca', 'issuing', '--cn', `${mode}-typo.example.com`, '--out-cert', key];
      const count = certificates();
      refused(pkim(...issue), holdsKey(key));
      expect(certificates(), `${mode}: nothing issued`).toBe(count);
      expect(auditEvents(), `${mode}: nothing audited`).toBe(before);
      expect(readFileSync(key, 'utf8')).toBe(PEM_KEY);
      const trust = pkim('ca', 'truststore', 'issuing', '--format', 'pem', '--out', key, '--force');
      expect(trust.code, trust.stderr).toBe(0);
      expect(readFileSync(key, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
    }
  });

  it('ca truststore without --out: a key file under the suggested name is refused before the export', () => {
    // the suggested name of a pem truststore of CA 'issuing' is issuing.pem: a name a key file may well have
    const suggested = file('issuing.pem');
    const truststoreEvents = () =>
      local('audit', 'list', '--limit', '1000', '--json')
        .json<{ items: { action: string }[] }>()
        .items.filter((e) => e.action.startsWith('ca.truststore')).length;
    for (const [mode, pkim] of modes) {
      writeFileSync(suggested, PEM_KEY, { mode: 0o600 });
      const before = truststoreEvents();
      refused(pkim('ca', 'truststore', 'issuing', '--format', 'pem'), holdsKey('issuing.pem'));
      expect(readFileSync(suggested, 'utf8'), mode).toBe(PEM_KEY);
      expect(truststoreEvents(), `${mode}: nothing exported, nothing audited`).toBe(before);
      // checked first: before the password file is read or the export refuses a missing password
      const p12 = file('issuing.truststore.p12');
      writeFileSync(p12, PEM_KEY, { mode: 0o600 });
      refused(pkim('ca', 'truststore', 'issuing', '--format', 'p12'), holdsKey('issuing.truststore.p12'));
      expect(readFileSync(p12, 'utf8'), mode).toBe(PEM_KEY);
      expect(truststoreEvents(), `${mode}: nothing audited`).toBe(before);
      // --force replaces it; a file that holds no key is replaced without it
      const forced = pkim('ca', 'truststore', 'issuing', '--format', 'pem', '--force');
      expect(forced.code, forced.stderr).toBe(0);
      expect(readFileSync(suggested, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
      const again = pkim('ca', 'truststore', 'issuing', '--format', 'pem');
      expect(again.code, again.stderr).toBe(0);
      expect(readFileSync(suggested, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
    }
  });

  it('a PKCS#12, JKS or ZIP holding a key is not replaced by a public file; a truststore p12/jks is', () => {
    const bundles: Record<string, string[]> = {
      p12: ['cert', 'export', serial, '--format', 'p12', '--password-file', file('pw.txt')],
      jks: ['cert', 'export', serial, '--format', 'jks', '--password-file', file('pw.txt')],
      zip: ['cert', 'export', serial, '--format', 'zip', '--password-file', file('pw.txt')],
    };
    const made = (name: string, args: string[]) => {
      const r = local(...args, '--out', file(name), '--force');
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(file(name));
    };
    const keyBundles: [string, Buffer][] = Object.entries(bundles).map(([ext, args]) => [
      `key-bundle.${ext}`,
      made(`key-bundle.${ext}`, args),
    ]);
    // one openssl made (its key bag as openssl writes it), and the ZIP of PKCS#12 files `cert bulk --keys-zip` writes
    const own = opensslSelfSigned({ subject: '/CN=openssl p12' });
    writeFileSync(file('own.pem'), own.certPem);
    writeFileSync(file('own.key'), own.keyPem);
    execFileSync('openssl', [
      ...['pkcs12', '-export', '-in', file('own.pem'), '-inkey', file('own.key'), '-out', file('openssl.p12')],
      ...['-passout', 'pass:export-password'],
    ]);
    keyBundles.push(['openssl.p12', readFileSync(file('openssl.p12'))]);
    writeFileSync(file('one-row.csv'), 'cn,sans,profile\nzip.example.com,zip.example.com,tls-server\n');
    const bulk = ['cert', 'bulk', '--ca', 'issuing', '--csv', file('one-row.csv'), '--password-file', file('pw.txt')];
    const zip = local(...bulk, '--keys-zip', file('keys.zip'));
    expect(zip.code, zip.stderr).toBe(0);
    keyBundles.push(['keys.zip', readFileSync(file('keys.zip'))]);
    for (const [mode, pkim] of modes) {
      for (const [name, bytes] of keyBundles) {
        const target = file(`${mode}-${name}`);
        writeFileSync(target, bytes);
        const before = auditEvents();
        refused(pkim('cert', 'export', serial, '--format', 'pem', '--out', target), holdsKey(target));
        refused(pkim('ca', 'truststore', 'issuing', '--format', 'pem', '--out', target), holdsKey(target));
        expect(auditEvents(), `${mode} ${name}: nothing audited`).toBe(before);
        expect(readFileSync(target).equals(bytes), `${mode} ${name}: untouched`).toBe(true);
      }
      for (const format of ['p12', 'jks']) {
        const trust = file(`${mode}-truststore.${format}`);
        const args = ['ca', 'truststore', 'issuing', '--format', format, '--password-file', file('pw.txt')];
        expect(pkim(...args, '--out', trust).code).toBe(0);
        const again = pkim(...args, '--out', trust);
        expect(again.code, `${mode} ${format}: a truststore is public: ${again.stderr}`).toBe(0);
      }
    }
  });

  it('ssh host bundle --out that is a file: refused before the bundle is made (the host is not even looked up)', () => {
    const notDir = file('bundle-is-a-file');
    writeFileSync(notDir, 'x');
    for (const [mode, pkim] of modes) {
      const before = auditEvents();
      const r = pkim('ssh', 'host', 'bundle', '--host', 'no-such-host', '--out', notDir);
      expect(r.code, mode).toBe(2);
      expect(r.stderr, mode).toBe(`error: input.invalid: cannot write the bundle to '${notDir}': not a directory\n`);
      expect(auditEvents(), mode).toBe(before);
    }
  });

  it('cert bulk --keys-zip: an existing file refused before any row is issued; a new one is 0600', () => {
    writeFileSync(file('rows.csv'), 'cn,sans\nbulk-a.example.com,bulk-a.example.com\n');
    for (const [mode, pkim] of modes) {
      const zip = file(`${mode}-keys.zip`);
      writeFileSync(zip, 'old zip\n');
      const args = ['cert', 'bulk', '--ca', 'issuing', '--profile', 'tls-server', '--csv', file('rows.csv')];
      args.push('--password-file', file('pw.txt'));
      const count = certificates();
      refused(pkim(...args, '--keys-zip', zip), exists(zip));
      expect(certificates(), `${mode}: nothing issued`).toBe(count);
      expect(readFileSync(zip, 'utf8')).toBe('old zip\n');
      const fresh = file(`${mode}-new-keys.zip`);
      const done = pkim(...args, '--keys-zip', fresh);
      expect(done.code, done.stderr).toBe(0);
      expect(certificates()).toBe(count + 1);
      expect(statSync(fresh).mode & 0o777).toBe(0o600);
    }
  });

  it('cert issue --out-key --force over a 0644 file: the key file is 0600', () => {
    for (const [mode, pkim] of modes) {
      const key = file(`${mode}-open.key`);
      writeFileSync(key, 'old\n', { mode: 0o644 });
      const cert = file(`${mode}-open.pem`);
      const args = ['cert', 'issue', '--ca', 'issuing', '--cn', `${mode}-open.example.com`, '--out-cert', cert];
      const r = pkim(...args, '--out-key', key, '--force');
      expect(r.code, r.stderr).toBe(0);
      verifies(cert);
      expect(statSync(key).mode & 0o777, mode).toBe(0o600);
    }
  });

  it('a bad input file: the one line names the file and what is wrong with it', () => {
    expect(local('ssh', 'ca', 'create', '--name', 'users', '--type', 'user').code).toBe(0);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('id_ed25519')]);
    writeFileSync(file('garbage.pub'), 'garbage\n');
    writeFileSync(file('profile.json'), 'not\njson\n');
    for (const [mode, pkim] of modes) {
      const cases: [string[], string][] = [
        [
          ['ssh', 'sign', '--ca', 'users', '--principal', 'a', '--public-key', file('garbage.pub')],
          `ssh.invalid_public_key: public key file '${file('garbage.pub')}': expected "<key type> <base64> [comment]"`,
        ],
        [
          ['ssh', 'sign', '--ca', 'users', '--principal', 'a', '--public-key', file('id_ed25519')],
          `ssh.invalid_public_key: public key file '${file('id_ed25519')}': expected an OpenSSH public key line ` +
            '(ssh-ed25519 AAAA…), got a private key (give its .pub file)',
        ],
        [
          ['ssh', 'sign', '--ca', 'users', '--principal', 'a', '--public-key', file('missing.pub')],
          `input.invalid: cannot read public key file '${file('missing.pub')}': no such file or directory (ENOENT)`,
        ],
        [
          ['cert', 'sign', '--ca', 'issuing', '--csr', file('garbage.pub')],
          // one message in both modes (the server's schema answers in the authority's words)
          `csr.invalid: CSR file '${file('garbage.pub')}': not a CSR: no PEM block found`,
        ],
        [
          ['cert', 'sign', '--ca', 'issuing', '--csr', file('root.pem')],
          `csr.invalid: CSR file '${file('root.pem')}': not a CSR: expected PEM label 'CERTIFICATE REQUEST', ` +
            "found 'CERTIFICATE'",
        ],
      ];
      for (const [args, line] of cases) {
        const r = pkim(...args);
        expect(r.code, `${mode}: ${args.join(' ')}`).toBe(2);
        expect(r.stderr, mode).toBe(`error: ${line}\n`);
        const json = pkim('--json', ...args);
        expect(JSON.parse(json.stderr).error, mode).toMatchObject({
          code: line.split(':')[0],
          message: line.slice(line.indexOf(': ') + 2),
        });
      }
      const profile = pkim('profile', 'create', '--file', file('profile.json'));
      expect(profile.code).toBe(2);
      expect(profile.stderr.split('\n'), mode).toHaveLength(2);
      expect(profile.stderr).toMatch(/^error: profile\.invalid: .*profile\.json: not JSON: /);
    }
    expect(local('ssh', 'list', '--json').json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('acme enable / list print the directory URL: the server URL remotely, publicUrl locally', async () => {
    const server = fx.server();
    const withUrl = (...args: string[]) =>
      runPkim(args, { dataDir, cwd: fx.dir, env: { ...fx.env, PKIM_PUBLIC_URL: `${server.url}/` } });
    const remote = modes[1]![1];
    const enabled = remote('acme', 'enable', '--ca', 'issuing', '--allow-dns', '*.example.com');
    expect(enabled.code, enabled.stderr).toBe(0);
    const caId = local('ca', 'show', 'issuing', '--json').json<{ id: string }>().id;
    const url = `${server.url}/acme/${caId}/directory`;
    expect(enabled.stdout).toContain(`\ndirectory: ${url}\n`);
    const again = withUrl('acme', 'enable', '--ca', 'issuing', '--allow-dns', '*.example.com');
    expect(again.stdout).toBe(enabled.stdout);
    expect(remote('acme', 'list').stdout).toBe(withUrl('acme', 'list').stdout);
    expect(remote('acme', 'list').stdout).toContain(` ${url} `);
    // the URL serves the directory an ACME client starts from
    const directory = (await (await fetch(url)).json()) as { newOrder?: string };
    expect(directory.newOrder).toBe(`${server.url}/acme/${caId}/new-order`);
    // without publicUrl locally: the path, and what to do about it (one note, not a wrong URL)
    const bare = local('acme', 'list').stdout;
    expect(bare).toContain(` /acme/${caId}/directory `);
    expect(bare.trimEnd().split('\n').at(-1)).toBe(
      "(ACME clients need the server's URL before this path: set publicUrl or PKIM_PUBLIC_URL here to print it)",
    );
    // --json is the API's object in both modes: its directoryUrl is under the server's public URL, else (this server
    // has none) under the origin the CLI reached it at — where the directory above answers; locally without
    // publicUrl null (no request says where the server is), the object otherwise the same
    const listed = remote('acme', 'list', '--json').json<{ items: { directoryUrl: string | null }[] }>();
    expect(listed.items).toEqual([expect.objectContaining({ directoryPath: `/acme/${caId}/directory` })]);
    expect(listed.items[0]!.directoryUrl).toBe(url);
    expect(local('acme', 'list', '--json').json()).toEqual({
      ...listed,
      items: [{ ...listed.items[0], directoryUrl: null }],
    });
    // locally with publicUrl: the URL the text gives, in list and enable alike
    const withPublicUrl = withUrl('acme', 'list', '--json').json<{ items: { directoryUrl: string | null }[] }>();
    expect(withPublicUrl.items[0]!.directoryUrl).toBe(url);
    const enabledJson = withUrl('acme', 'enable', '--ca', 'issuing', '--allow-dns', '*.example.com', '--json').json();
    expect(enabledJson).toMatchObject({ directoryUrl: url });
    expect(Object.keys(enabledJson as object).sort()).toEqual(Object.keys(listed.items[0]!).sort());
  });
});
