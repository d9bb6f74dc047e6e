// Remote mode of the CLI (issue #17 item 2): a real `pkim serve` (HTTPS on 127.0.0.1, port 0, its certificate from a
// private CA) and the same flow — create CAs, sign a CSR, revoke, generate the CRL, verify the audit chain — run
// once on a local data directory and once through the server (--server/--token, PKIM_SERVER/PKIM_TOKEN, the
// `pkim login` profile). The JSON outputs must have the same fields and values, ids, serials and times aside;
// certificates and CRLs are checked with openssl; error lines and exit codes are those of local mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runPkim, runPkimAsync, type CliResult } from '../../../tests/support/cli-in-process';
import { closedPort, outputShape, startPkimServer, type PkimServer } from '../../../tests/support/remote-server';
import { createRootAndIssuing } from '../../../tests/support/cli-ca-fixture';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { generateSshKey } from '../../../tests/support/openssh';

const tmp = tempDir('pkim-remote-');
const file = (name: string) => join(tmp.dir, name);
/** no login profile of the person running the tests is ever seen */
const XDG = { XDG_CONFIG_HOME: file('xdg') };

const startServer = (dataDir: string, args: string[]) => startPkimServer(dataDir, args, XDG);
const shape = (v: unknown) => outputShape(v, tmp.dir);

interface FlowOutputs {
  root: Record<string, unknown>;
  issuing: Record<string, unknown>;
  signed: Record<string, unknown>;
  revoked: Record<string, unknown>;
  crl: Record<string, unknown>;
  audit: Record<string, unknown>;
  crlDer: Buffer;
}

/** create CA → intermediate → sign a CSR → revoke → CRL → audit verify, each step --json and exit 0 */
function flow(pkim: (...args: string[]) => CliResult, dir: string): FlowOutputs {
  const ok = (r: CliResult) => {
    expect(r.code, r.stderr).toBe(0);
    return r.json<Record<string, unknown>>();
  };
  const { root, issuing } = createRootAndIssuing(
    pkim,
    { name: 'flow-root', subject: 'CN=Flow Root,O=Example,C=US', keyType: 'ec-p384' },
    {
      name: 'flow-issuing',
      subject: 'CN=Flow Issuing,O=Example,C=US',
      keyType: 'ec-p256',
      options: ['--path-len', '0', '--permit-dns', '.example.com', '--validity', '5y'],
    },
  );
  const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=web.example.com', sans: ['DNS:web.example.com'] });
  writeFileSync(join(dir, 'web.csr'), csrPem);
  const signed = ok(
    pkim(
      'cert',
      'sign',
      '--ca',
      'flow-issuing',
      '--csr',
      join(dir, 'web.csr'),
      '--ttl',
      '30d',
      '--out-cert',
      join(dir, 'web.pem'),
      '--json',
    ),
  );
  const revoked = ok(pkim('cert', 'revoke', signed.serial as string, '--reason', 'keyCompromise', '--json'));
  const crl = ok(pkim('crl', 'generate', '--ca', 'flow-issuing', '--out', join(dir, 'issuing.crl'), '--json'));
  const audit = ok(pkim('audit', 'verify', '--json'));
  return { root, issuing, signed, revoked, crl, audit, crlDer: readFileSync(join(dir, 'issuing.crl')) };
}

describe('pkim remote mode: the same commands through a server', () => {
  const tlsDir = file('tls-data');
  const serverDir = file('server-data');
  const localDir = file('local-data');
  /** a data directory that never exists: remote commands must not need one */
  const noDir = file('no-data-here');
  let server: PkimServer;
  let url: string;
  let token: string;
  let local: FlowOutputs;

  beforeAll(async () => {
    // the server's TLS certificate, from a private CA (a data directory of its own)
    const tls = (...args: string[]) => runPkim(args, { dataDir: tlsDir, env: XDG });
    expect(
      tls('ca', 'create', '--name', 'tls-root', '--subject', 'CN=TLS Root', '--out', file('tls-root.pem')).code,
    ).toBe(0);
    const leaf = tls(
      'cert',
      'issue',
      '--ca',
      'tls-root',
      '--cn',
      'localhost',
      '--san',
      'ip:127.0.0.1',
      '--out-cert',
      file('tls.pem'),
      '--out-key',
      file('tls.key'),
      '--json',
    );
    expect(leaf.code, leaf.stderr).toBe(0);
    const created = runPkim(['token', 'create', '--name', 'remote-cli', '--role', 'admin', '--json'], {
      dataDir: serverDir,
      env: XDG,
    });
    expect(created.code, created.stderr).toBe(0);
    token = created.json<{ token: string }>().token;
    server = await startServer(serverDir, ['--tls-cert', file('tls.pem'), '--tls-key', file('tls.key')]);
    url = server.url;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    local = flow((...args) => runPkim(args, { dataDir: localDir, env: XDG }), file(''));
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  /** remote through PKIM_SERVER / PKIM_TOKEN / PKIM_CA_FILE */
  const remote = (...args: string[]) =>
    runPkim(args, {
      dataDir: noDir,
      init: false,
      env: { ...XDG, PKIM_SERVER: url, PKIM_TOKEN: token, PKIM_CA_FILE: file('tls-root.pem') },
    });

  /** a local run on the server's data dir (what the server serves, read without it) */
  const onServer = (...args: string[]) => runPkim(args, { dataDir: serverDir, env: XDG });
  /** each command exits 0 through the server */
  const madeRemotely = (commands: string[][]) => {
    for (const args of commands) {
      const r = remote(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  };
  /**
   * each list prints the same through the server as a local read of its data dir (and with `json`, the same JSON
   * page). The server first: a token's LAST USED is written as the server reads it, the local read then sees it
   */
  const sameListings = (lists: string[][], json: boolean) => {
    for (const args of lists) {
      const there = remote(...args);
      const here = onServer(...args);
      expect(there.code, there.stderr).toBe(0);
      expect(here.code, here.stderr).toBe(0);
      expect(there.stdout, args.join(' ')).toBe(here.stdout);
      // --json stays the API's page in both modes
      if (json) expect(remote(...args, '--json').json(), args.join(' ')).toEqual(onServer(...args, '--json').json());
    }
  };

  it('runs the full flow through the server with the same JSON as local mode; openssl accepts what it made', () => {
    const dir = file('remote-out');
    mkdirSync(dir, { recursive: true });
    const r = flow(remote, dir);
    for (const k of ['root', 'issuing', 'signed', 'revoked', 'crl', 'audit'] as const) {
      expect(shape(r[k]), k).toEqual(shape(local[k]));
    }
    expect(existsSync(noDir)).toBe(false);
    // the objects are the server's: it lists them
    const onServer = runPkim(['cert', 'list', '--json'], { dataDir: serverDir, env: XDG }).json<{
      items: { serial: string; status: string }[];
    }>();
    expect(onServer.items).toContainEqual(expect.objectContaining({ serial: r.signed.serial, status: 'revoked' }));
    // independent verifiers: the chain (before the revocation time), the CRL listing the revoked serial
    const rootPem = r.root.certificatePem as string;
    const issuingPem = r.issuing.certificatePem as string;
    const leafPem = readFileSync(join(dir, 'web.pem'), 'utf8');
    const chain = opensslVerify({ leafPem, chainPems: [issuingPem], rootPem, purpose: 'sslserver' });
    expect(chain.ok, chain.output).toBe(true);
    const crl = opensslCrlVerify(r.crlDer, issuingPem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase()).toContain((r.signed.serial as string).replace(/^0+/, ''));
    expect(crl.text).toContain('Key Compromise');
    const withCrl = opensslVerify({
      leafPem,
      chainPems: [issuingPem],
      rootPem,
      crlPems: [pemOf(r.crlDer)],
    });
    expect(withCrl.ok).toBe(false);
    expect(withCrl.output).toMatch(/certificate revoked/);
  });

  it("audit list: the server's page, { items, nextCursor } with RFC 3339 times, the same as a local read", () => {
    const ok = (r: CliResult) => {
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    interface Page {
      items: { seq: number; time: string; action: string }[];
      nextCursor: string | null;
    }
    const first = ok(remote('audit', 'list', '--limit', '3', '--json')).json<Page>();
    expect(first.items).toHaveLength(3);
    expect(first.items[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(first.nextCursor).toBe(String(first.items[2]!.seq));
    expect(first).toEqual(ok(onServer('audit', 'list', '--limit', '3', '--json')).json());
    // the next page continues with older events, in both modes
    const second = ok(remote('audit', 'list', '--limit', '3', '--cursor', first.nextCursor!, '--json')).json<Page>();
    expect(second.items[0]!.seq).toBe(first.items[2]!.seq - 1);
    expect(second).toEqual(
      ok(onServer('audit', 'list', '--limit', '3', '--cursor', first.nextCursor!, '--json')).json(),
    );
    expect(ok(remote('audit', 'list', '--limit', '3')).stdout).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION/);
    // the table names the actor (here the API token the flow ran with, by its name; --json keeps the id beside it),
    // and --actor takes that name, in both modes
    for (const run of [remote, onServer]) {
      const byToken = ok(run('audit', 'list', '--actor', 'remote-cli', '--limit', '2'));
      expect(byToken.stdout).toMatch(
        /^SEQ\s+TIME\s+ACTOR\s+ACTION.*\n-+.*\n\d+\s+\S+\s+remote-cli\s+\S+.*\n\d+\s+\S+\s+remote-cli\s/,
      );
      const [e] = ok(run('audit', 'list', '--actor', 'remote-cli', '--limit', '1', '--json')).json<{
        items: { actor: string; actorName: string }[];
      }>().items;
      expect(e).toMatchObject({ actor: expect.stringMatching(/^tok_/), actorName: 'remote-cli' });
    }
    // a --limit over the API's page size (1000) is read page by page: the answer of local mode, not a refusal
    const all = ok(remote('audit', 'list', '--limit', '100000', '--json')).json<Page>();
    expect(all.items.length).toBeGreaterThan(6);
    expect(all).toEqual(ok(onServer('audit', 'list', '--limit', '100000', '--json')).json());
  });

  it('ca list, cert list (--wide, paged) and request list print the tables of local mode, not the raw fields', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=queued.example.com',
      sans: ['DNS:queued.example.com'],
    });
    writeFileSync(file('queued.csr'), csrPem);
    const submitted = remote('request', 'submit', '--ca', 'flow-issuing', '--csr', file('queued.csr'));
    expect(submitted.code, submitted.stderr).toBe(0);
    const lists = [
      ['ca', 'list'],
      ['cert', 'list'],
      ['cert', 'list', '--wide'],
      ['cert', 'list', '--limit', '1'],
      ['request', 'list'],
    ];
    sameListings(lists, false);
    // the columns the README describes: CA names, days left, the request's subject
    const certs = remote('cert', 'list').stdout;
    expect(certs).toMatch(/^SERIAL\s+CA\s+STATUS\s+DAYS LEFT\s+NAME\n/);
    expect(certs).toMatch(/\bflow-issuing\b.*\bweb\.example\.com\b/);
    expect(remote('request', 'list').stdout).toMatch(/\bpending\b.*\bCN=queued\.example\.com\b/);
  });

  it('dashboard: the local text remotely — counts, warnings with code and hint, the CAs, the last revocations', () => {
    // after the request list above: a request awaits review; the flow revoked a certificate (keyCompromise)
    const there = remote('dashboard');
    const here = onServer('dashboard');
    expect(there.code, there.stderr).toBe(0);
    expect(here.code, here.stderr).toBe(0);
    const body = (out: string) => out.replace(/^Dashboard as of \S+\n/, '');
    expect(body(there.stdout)).toBe(body(here.stdout));
    const text = there.stdout;
    expect(text).toMatch(/^Dashboard as of \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\n/);
    expect(text).toMatch(/^pending requests:\s+1$/m);
    expect(text).toContain('  info request.pending: 1 certificate request awaiting review\n');
    expect(text).toContain('    hint: pkim request list --status pending, then pkim request approve ID');
    expect(text).toMatch(/^CA certificates by expiry \(soonest first\):\nNAME\s+STATUS\s+NOT AFTER\s+DAYS LEFT\n/m);
    expect(text).toMatch(/^flow-issuing\s+active\s+\S+\s+\d+$/m);
    expect(text).toMatch(
      /^Recently revoked:\nTIME\s+SERIAL\s+REASON\s+BY\n.*\n\S+\s+[0-9a-f]{16}…\s+keyCompromise\s+\S+/m,
    );
    // --json: the API's object in both modes (the time it was made aside)
    const made = (r: CliResult) => ({ ...r.json<Record<string, unknown>>(), generatedAt: null });
    expect(made(remote('dashboard', '--json'))).toEqual(made(onServer('dashboard', '--json')));
  });

  it('token, user, profile, audit, acme, ssh ca lists and show, notify rule lists, spiffe status: local tables', () => {
    const made = [
      ['token', 'create', '--name', 'listed', '--role', 'auditor'],
      ['user', 'create', 'listed-user', '--role', 'operator'],
      ['notify', 'rule', 'add', 'expiring', '--webhook', 'https://hooks.example.com/x', '--ca', 'flow-issuing'],
      ['acme', 'enable', '--ca', 'flow-issuing', '--allow-dns', '*.example.com'],
      ['ssh', 'ca', 'create', '--name', 'listed-ssh', '--type', 'user'],
      ['spiffe', 'init', '--trust-domain', 'listed.example.org'],
    ];
    madeRemotely(made);
    const lists = [
      ['token', 'list'],
      ['user', 'list'],
      ['profile', 'list'],
      ['audit', 'list', '--limit', '20'],
      ['acme', 'list'],
      ['acme', 'accounts'],
      ['ssh', 'ca', 'list'],
      ['ssh', 'ca', 'show', 'listed-ssh'],
      ['notify', 'rule', 'list'],
      ['spiffe', 'status'],
    ];
    // ACME directory URLs: remotely under the server's URL, locally under publicUrl (the same server here)
    const local = (...args: string[]) =>
      args[0] === 'acme' && args[1] === 'list'
        ? runPkim(args, { dataDir: serverDir, env: { ...XDG, PKIM_PUBLIC_URL: server.url } })
        : onServer(...args);
    for (const args of lists) {
      // the server first: a token's LAST USED is written as the server reads it, the local read then sees it
      const there = remote(...args);
      const here = local(...args);
      expect(there.code, there.stderr).toBe(0);
      expect(here.code, here.stderr).toBe(0);
      expect(there.stdout, args.join(' ')).toBe(here.stdout);
      // --json stays the API's page in both modes
      expect(remote(...args, '--json').json(), args.join(' ')).toEqual(local(...args, '--json').json());
    }
    expect(remote('token', 'list').stdout).toMatch(/^ID\s+NAME\s+ROLE\s+SCOPES\s+EXPIRES\s+LAST USED\s+REVOKED\n/);
    expect(remote('user', 'list').stdout).toMatch(/\blisted-user\s+operator\s+active\b/);
    expect(remote('notify', 'rule', 'list').stdout).toMatch(/\bexpiring\s+expiry 30\/7\/1d\b.*\bca=flow-issuing\b/);
    expect(remote('spiffe', 'status').stdout).toMatch(/^status: \w+ {2}trust domain: listed\.example\.org\n/);
    // lifetimes as docs/profiles.md writes them; --json keeps the API's durations
    const profiles = remote('profile', 'list').stdout;
    expect(profiles).toMatch(/^root-ca\s+built-in\s+yes\s.*\s10y\s+25y$/m);
    expect(profiles).toMatch(/^tls-server\s+built-in\s+no\s.*\s90d\s+398d$/m);
    expect(remote('profile', 'show', 'root-ca').stdout).toMatch(/^default lifetime:\s+10y$/m);
    const rootCa = remote('profile', 'list', '--json')
      .json<{ items: { name: string; defaultLifetime: string }[] }>()
      .items.find((p) => p.name === 'root-ca');
    expect(rootCa?.defaultLifetime).toBe('3650d');
  });

  it(
    'notify deliveries, spiffe list/denied, acme eab list, ssh certificate and registry lists: local tables',
    {
      timeout: 300_000,
    },
    () => {
      const key = generateSshKey(tmp.dir, 'listed-key');
      const made = [
        ['notify', 'rule', 'add', 'on-issue', '--webhook', 'http://127.0.0.1:9/x', '--events', 'certificate.issued'],
        ['cert', 'issue', '--ca', 'flow-issuing', '--cn', 'delivered.example.com'],
        ['cert', 'issue', '--ca', 'flow-issuing', '--cn', 'delivered2.example.com'],
        ['spiffe', 'init', '--trust-domain', 'listed.example.org'],
        ['spiffe', 'deny', 'spiffe://listed.example.org/node/denied', '--reason', 'left the fleet'],
        ['acme', 'enable', '--ca', 'flow-issuing', '--allow-dns', '*.example.com'],
        ['acme', 'eab', 'create', '--ca', 'flow-issuing'],
        ['ssh', 'ca', 'create', '--name', 'listed-users', '--type', 'user'],
        ['ssh', 'sign', '--ca', 'listed-users', '--public-key', `${key.path}.pub`, '--principal', 'ops,dev'],
        ['ssh', 'sign', '--ca', 'listed-users', '--public-key', `${key.path}.pub`, '--principal', 'ops'],
        ['ssh', 'env', 'create', 'listed-env', '--description', 'listed'],
        ['ssh', 'host', 'add', 'web1.example.com', '--principal', 'web1.example.com,10.0.0.1'],
        ['ssh', 'user', 'add', 'listed-sam'],
        ['ssh', 'principal', 'add', 'ops', '--description', 'operators'],
        ['ssh', 'principal', 'grant', '--user', 'listed-sam', '--principal', 'ops'],
        ['ssh', 'block', '--user', 'listed-sam', '--reason', 'on leave'],
        ['ssh', 'fleet-token', 'create', '--name', 'listed-fleet', '--operations', 'sign-host'],
      ];
      madeRemotely(made);
      // a delivery to a closed port: retrying, with its error (notify run works on this machine only)
      expect(onServer('notify', 'run').code).toBe(0);
      const lists = [
        ['notify', 'deliveries'],
        ['notify', 'deliveries', '--limit', '1'],
        ['spiffe', 'list'],
        ['spiffe', 'denied'],
        ['acme', 'eab', 'list'],
        ['ssh', 'list'],
        ['ssh', 'list', '--limit', '1'],
        ['ssh', 'env', 'list'],
        ['ssh', 'host', 'list'],
        ['ssh', 'user', 'list'],
        ['ssh', 'principal', 'list'],
        ['ssh', 'blocks'],
        ['ssh', 'fleet-token', 'list'],
      ];
      sameListings(lists, true);
      expect(remote('notify', 'deliveries').stdout).toMatch(
        /^CREATED\s+RULE\s+EVENT\s+SUBJECT\s+STATUS\s+ATTEMPTS\s+NEXT ATTEMPT\s+LAST ERROR\n/,
      );
      expect(remote('notify', 'deliveries').stdout).toMatch(/\bon-issue\s+certificate\.issued\s+crt_\w+\s+retrying\b/);
      expect(remote('notify', 'deliveries', '--limit', '1').stdout).toMatch(/\nmore: --cursor \S+$/m);
      expect(remote('spiffe', 'denied').stdout).toMatch(
        /^spiffe:\/\/listed\.example\.org\/node\/denied\s+left the fleet\s+\d{4}/m,
      );
      expect(remote('acme', 'eab', 'list').stdout).toMatch(
        /^eab_\w+\s+ca_\w+\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\S+\s+-\s+-$/m,
      );
      expect(remote('ssh', 'list').stdout).toMatch(/^\d+\s+listed-users\s+user\s+active\s+\S+\s+ops,dev\s+\d{4}-/m);
      expect(remote('ssh', 'list', '--limit', '1').stdout).toMatch(/\nmore: --cursor \S+$/m);
      expect(remote('ssh', 'host', 'list').stdout).toMatch(
        /^web1\.example\.com\s+default\s+web1\.example\.com,10\.0\.0\.1$/m,
      );
      expect(remote('ssh', 'user', 'list').stdout).toMatch(/^listed-sam\s+no\s+ops\s+1$/m);
      expect(remote('ssh', 'blocks').stdout).toMatch(/\blisted-sam\s+\(fleet-wide\)\s+on leave$/m);
      expect(remote('ssh', 'fleet-token', 'list').stdout).toMatch(
        /\blisted-fleet\s+default\s+sign-host\s+\d+\s+\S+\s+-$/m,
      );
    },
  );

  it('cert issue and cert sign print the local text remotely (details, files written, the PEM)', () => {
    const labels = (out: string) => out.split('\n').map((l) => /^([\w ]+):\s/.exec(l)?.[1] ?? '');
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=printed.example.com',
      sans: ['DNS:printed.example.com'],
    });
    writeFileSync(file('printed.csr'), csrPem);
    const sign = ['cert', 'sign', '--ca', 'flow-issuing', '--csr', file('printed.csr')];
    const there = remote(...sign);
    const here = onServer(...sign);
    expect(there.code, there.stderr).toBe(0);
    expect(here.code, here.stderr).toBe(0);
    expect(labels(there.stdout)).toEqual(labels(here.stdout));
    expect(there.stdout).toMatch(/^valid:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ → /m);
    const pem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/.exec(there.stdout)?.[0];
    expect(pem, there.stdout).toBeDefined();
    const chain = remote('ca', 'export', 'flow-issuing', '--chain');
    expect(chain.code, chain.stderr).toBe(0);
    const [issuingPem, rootPem] = chain.stdout.split(/(?<=-----END CERTIFICATE-----\n)/);
    const v = opensslVerify({ leafPem: pem!, chainPems: [issuingPem!], rootPem: rootPem! });
    expect(v.ok, v.output).toBe(true);
    const issue = (run: typeof remote, name: string) =>
      run(
        'cert',
        'issue',
        '--ca',
        'flow-issuing',
        '--cn',
        name,
        '--out-cert',
        file(`${name}.pem`),
        '--out-key',
        file(`${name}.key`),
      );
    const issuedThere = issue(remote, 'printed-remote.example.com');
    const issuedHere = issue(onServer, 'printed-local.example.com');
    expect(issuedThere.code, issuedThere.stderr).toBe(0);
    expect(labels(issuedThere.stdout)).toEqual(labels(issuedHere.stdout));
    expect(issuedThere.stdout).toMatch(/^SANs:\s+DNS:printed-remote\.example\.com$/m);
    expect(issuedThere.stdout).toMatch(/\nwritten: \S+printed-remote\.example\.com\.pem, \S+\.key$/m);
  });

  it('cert show prints the local text remotely: EKUs, policies, revocation, times', () => {
    const issued = remote('cert', 'issue', '--ca', 'flow-issuing', '--cn', 'shown.example.com', '--json');
    expect(issued.code, issued.stderr).toBe(0);
    const id = issued.json<{ id: string }>().id;
    expect(remote('cert', 'revoke', id, '--reason', 'superseded').code).toBe(0);
    const there = remote('cert', 'show', id);
    const here = onServer('cert', 'show', id);
    expect(there.code, there.stderr).toBe(0);
    expect(there.stdout).toBe(here.stdout);
    expect(there.stdout).toMatch(/^ext key usage:\s+serverAuth/m);
    expect(there.stdout).toMatch(/^policies:\s+-$/m);
    expect(there.stdout).toMatch(/^revoked:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(superseded\)$/m);
    expect(there.stdout).toMatch(/^SANs:\s+DNS:shown\.example\.com$/m);
    expect(remote('cert', 'show', id, '--json').json()).toEqual(onServer('cert', 'show', id, '--json').json());
  });

  it('answers errors with the local exit code and `error: <code>: <message>` line', () => {
    const localNotFound = runPkim(['cert', 'show', 'crt_nothing'], { dataDir: localDir, env: XDG });
    const remoteNotFound = remote('cert', 'show', 'crt_nothing');
    expect(localNotFound.code).toBe(3);
    expect(remoteNotFound.code).toBe(localNotFound.code);
    expect(remoteNotFound.stderr).toBe(localNotFound.stderr);
    const localRevoked = runPkim(['cert', 'revoke', local.signed.serial as string], { dataDir: localDir, env: XDG });
    expect(localRevoked.code).toBe(4);
    // --json: the contract's error object on stderr
    const remoteJson = remote('cert', 'show', 'crt_nothing', '--json');
    expect(JSON.parse(remoteJson.stderr)).toEqual(JSON.parse(localNotFoundJson()));
  });

  function localNotFoundJson(): string {
    return runPkim(['cert', 'show', 'crt_nothing', '--json'], { dataDir: localDir, env: XDG }).stderr;
  }

  it('refuses a bad token (exit 6) and never prints the token', () => {
    const bad = 'pkim_bad_0123456789abcdefghijklmnopqrstuvwxyz';
    const r = runPkim(['--server', url, '--token', bad, '--ca-file', file('tls-root.pem'), 'ca', 'list'], {
      dataDir: noDir,
      init: false,
      env: XDG,
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^error: auth\.unauthenticated: /);
    expect(r.stdout + r.stderr).not.toContain(bad);
    const none = runPkim(['--server', url, 'ca', 'list'], { dataDir: noDir, init: false, env: XDG });
    expect(none.code).toBe(6);
    expect(none.stderr).toMatch(/^error: remote\.no_token: .*pkim login/);
  });

  it('says clearly when the server is down, or its certificate is not trusted (exit 7)', async () => {
    const port = await closedPort();
    const down = runPkim(['ca', 'list'], {
      dataDir: noDir,
      init: false,
      env: { ...XDG, PKIM_SERVER: `http://127.0.0.1:${port}`, PKIM_TOKEN: token },
    });
    expect(down.code).toBe(7);
    expect(down.stderr).toMatch(
      new RegExp(
        `^error: remote\\.unreachable: cannot reach the PKI Manager server at http://127\\.0\\.0\\.1:${port} .*ECONNREFUSED`,
      ),
    );
    expect(down.stderr).not.toContain(token);
    const untrusted = runPkim(['ca', 'list'], {
      dataDir: noDir,
      init: false,
      env: { ...XDG, PKIM_SERVER: url, PKIM_TOKEN: token },
    });
    expect(untrusted.code).toBe(7);
    expect(untrusted.stderr).toMatch(/^error: remote\.unreachable: .*--ca-file/);
  });

  it('takes the REST base the banner prints (…/api/v1) as the server, with or without a slash', () => {
    const env = { ...XDG, PKIM_TOKEN: token, PKIM_CA_FILE: file('tls-root.pem') };
    const plain = runPkim(['ca', 'list', '--json'], { dataDir: noDir, init: false, env: { ...env, PKIM_SERVER: url } });
    expect(plain.code, plain.stderr).toBe(0);
    for (const server of [`${url}/api/v1`, `${url}/api/v1/`]) {
      const r = runPkim(['ca', 'list', '--json'], {
        dataDir: noDir,
        init: false,
        env: { ...env, PKIM_SERVER: server },
      });
      expect(r.code, `${server}: ${r.stderr}`).toBe(0);
      expect(r.json()).toEqual(plain.json());
    }
  });

  it('says an https:// server that answers plain HTTP does not speak TLS (not an openssl record error)', async () => {
    const http = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    try {
      const { port } = http.address() as AddressInfo;
      const r = await runPkimAsync(['ca', 'list'], {
        dataDir: noDir,
        init: false,
        env: { ...XDG, PKIM_SERVER: `https://127.0.0.1:${port}`, PKIM_TOKEN: token },
      });
      expect(r.code).toBe(7);
      expect(r.stderr.trim()).toBe(
        `error: remote.unreachable: cannot reach the PKI Manager server at https://127.0.0.1:${port} ` +
          `(environment PKIM_SERVER): it does not speak TLS (a plain HTTP server? then use http://)`,
      );
    } finally {
      http.closeAllConnections();
      await new Promise((done) => http.close(done));
    }
  });

  it('refuses local-only commands in remote mode; --local runs them here', () => {
    for (const args of [['init'], ['db', 'migrate'], ['backup', '--out', file('b.tar')], ['audit', 'checkpoint']]) {
      const r = remote(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(`^error: remote\\.unsupported: pkim ${args[0]}.* runs on this machine only: `),
      );
    }
    expect(existsSync(noDir)).toBe(false);
    const here = runPkim(['--local', 'ca', 'list', '--json'], {
      dataDir: localDir,
      env: { ...XDG, PKIM_SERVER: url, PKIM_TOKEN: token },
    });
    expect(here.code, here.stderr).toBe(0);
    expect(here.json<{ items: { name: string }[] }>().items.map((c) => c.name)).toContain('flow-root');
  });

  it('pkim login keeps a 0600 profile under XDG_CONFIG_HOME; commands then go remote; pkim logout removes it', () => {
    const env = { XDG_CONFIG_HOME: file('login-xdg') };
    const profile = join(env.XDG_CONFIG_HOME, 'pkim', 'config.json');
    const wrong = runPkim(['--server', url, '--ca-file', file('tls-root.pem'), 'login'], {
      dataDir: localDir,
      env,
      input: 'pkim_not_a_token\n',
    });
    expect(wrong.code).toBe(6);
    expect(existsSync(profile)).toBe(false);
    const login = runPkim(['--server', url, '--ca-file', file('tls-root.pem'), 'login', '--json'], {
      dataDir: localDir,
      env,
      input: `${token}\n`,
    });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout + login.stderr).not.toContain(token);
    expect(login.json()).toMatchObject({ server: url, profile, role: 'admin' });
    expect(statSync(profile).mode & 0o777).toBe(0o600);
    expect(statSync(join(env.XDG_CONFIG_HOME, 'pkim')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(profile, 'utf8'))).toEqual({ server: url, token, caFile: file('tls-root.pem') });
    // no --server, no PKIM_SERVER: the profile's server (which has the remote flow's CAs, not the local ones)
    const viaProfile = runPkim(['ca', 'show', 'tls-root', '--json'], { dataDir: localDir, env });
    expect(viaProfile.code).toBe(3);
    expect(viaProfile.stderr).toMatch(/^\{"error":\{"code":"ca\.not_found"/);
    const list = runPkim(['cert', 'list', '--json'], { dataDir: localDir, env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json<{ items: { serial: string }[] }>().items.map((c) => c.serial)).not.toContain(local.signed.serial);
    const logout = runPkim(['logout', '--json'], { dataDir: localDir, env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.json()).toEqual({ profile, removed: true });
    expect(existsSync(profile)).toBe(false);
    // local again
    const back = runPkim(['cert', 'list', '--json'], { dataDir: localDir, env });
    expect(back.json<{ items: { serial: string }[] }>().items.map((c) => c.serial)).toContain(local.signed.serial);
  });

  it('refuses a login profile other users can read', () => {
    const env = { XDG_CONFIG_HOME: file('open-xdg') };
    const login = runPkim(['--server', url, '--ca-file', file('tls-root.pem'), 'login', '--token-file', '-'], {
      dataDir: localDir,
      env,
      input: token,
    });
    expect(login.code, login.stderr).toBe(0);
    const profile = join(env.XDG_CONFIG_HOME, 'pkim', 'config.json');
    chmodSync(profile, 0o644);
    const r = runPkim(['ca', 'list'], { dataDir: localDir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: config\.invalid: login profile .* readable by other users/);
    expect(runPkim(['logout'], { dataDir: localDir, env }).code).toBe(0);
  });
});

function pemOf(der: Buffer): string {
  return `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;
}
