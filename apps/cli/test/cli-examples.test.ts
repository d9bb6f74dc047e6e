// Every `--help` and every example it shows (README "CLI reference"; apps/cli/src/command-examples.ts), walked from
// the command tree itself, not from a hand list: each command and group has a one-line description, each option a
// description; each example parses (commander: the command exists, its options and arguments are accepted); and
// each example RUNS — in order, against one local data directory (the `--server` ones against a `pkim serve` on it),
// with the ids, serials and files it names replaced by real ones made before it. An example that cannot run here
// says why in CANNOT_RUN; a new example must either run or be listed there.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../src/command-tree';
import { COMMAND_EXAMPLES, commandPath } from '../src/command-examples';
import type { CliContext } from '../src/cli-context';
import { runPkim, type CliResult } from '../../../tests/support/cli-in-process';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';
import { opensslCsr, opensslSelfSigned, opensslSignCaCsr, tempDir } from '../../../tests/support/openssl-tools';

/** the program as run.ts makes it (its global options), with the whole command tree */
async function program(): Promise<Command> {
  const p = new Command()
    .name('pkim')
    .option('--data-dir <dir>')
    .option('--database-url <url>')
    .option('--config <file>')
    .option('--json')
    .option('--server <url>')
    .option('--token <token>')
    .option('--ca-file <file>')
    .option('--local')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  // registration only builds the tree: no action runs here, so the context is never used
  await registerCommands(p, {} as CliContext);
  return p;
}

function everyCommand(root: Command): Command[] {
  const all: Command[] = [];
  const visit = (c: Command) => {
    for (const sub of c.commands) {
      all.push(sub);
      visit(sub);
    }
  };
  visit(root);
  return all;
}

/** what is wrong with one command's help (empty: fine) */
function helpProblems(c: Command): string[] {
  const path = commandPath(c);
  const problems: string[] = [];
  const d = c.description();
  if (!d.trim()) problems.push(`${path}: no description`);
  else if (d.includes('\n')) problems.push(`${path}: a description of more than one line`);
  for (const o of c.options)
    if (!o.description.trim()) problems.push(`${path}: ${o.long ?? o.flags} has no description`);
  return problems;
}

/** an example's words as a shell splits them, up to a pipe or a redirection (what pkim itself receives) */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'" || ch === '"') {
      const end = line.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (ch === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if ((ch === '|' || ch === '>') && word === undefined) {
      break;
    } else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** parses an example's arguments with every action replaced: undefined if commander takes them, else its error */
async function parseError(example: string): Promise<string | undefined> {
  const p = await program();
  for (const c of everyCommand(p)) {
    c.action(() => undefined);
    c.exitOverride();
  }
  try {
    await p.parseAsync(shellWords(example).slice(1), { from: 'user' });
    return undefined;
  } catch (e) {
    return e instanceof CommanderError ? e.message : String(e);
  }
}

describe('pkim --help: every command and group', () => {
  it('has a one-line description, and every option a description', async () => {
    const all = everyCommand(await program());
    expect(all.length).toBeGreaterThan(150);
    expect(all.flatMap(helpProblems)).toEqual([]);
  });

  it('--help of each shows its description (and a leaf its examples), exit 0', () => {
    const tmp = tempDir('pkim-help-walk-');
    try {
      for (const path of ['', ...Object.keys(COMMAND_EXAMPLES)]) {
        const r = runPkim([...(path ? path.split(' ') : []), '--help'], { dataDir: join(tmp.dir, 'data') });
        expect(r.code, `pkim ${path} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout, path).toMatch(/^Usage: pkim /);
        if (path) expect(r.stdout, path).toContain(`\nExamples:\n  $ ${COMMAND_EXAMPLES[path]![0]}`);
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('every example parses: its command exists and takes its options and arguments', async () => {
    const problems: string[] = [];
    for (const examples of Object.values(COMMAND_EXAMPLES)) {
      for (const e of examples) {
        const error = await parseError(e);
        if (error) problems.push(`${e}: ${error}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('positive control: a missing description, an option without one, an example that does not parse', async () => {
    const c = new Command('frob').option('--quiet');
    new Command('pkim').addCommand(c);
    expect(helpProblems(c)).toEqual(['frob: no description', 'frob: --quiet has no description']);
    expect(await parseError('pkim ca show')).toMatch(/missing required argument 'ca'/);
    expect(await parseError('pkim cert issue --ca issuing --cn a --ttl')).toMatch(/argument missing/);
    expect(shellWords(`pkim a --b 'c d' "e" | jq .x`)).toEqual(['pkim', 'a', '--b', 'c d', 'e']);
  });
});

/** examples that cannot run against a local data dir and a test server, and why (each is still parsed above) */
const CANNOT_RUN: Record<string, string> = {
  'pkim serve --host 0.0.0.0 --port 8200 --public-url https://pki.example.com':
    'starts a server that keeps running (tests/support/remote-server.ts runs `pkim serve` for the --server examples)',
  'pkim db migrate --database-url postgres://pkim@db/pkim': 'needs the PostgreSQL server it names (db-copy.test.ts)',
  'pkim db copy --from sqlite:///var/lib/pkim/pkim.db --to postgres://pkim@db/pkim':
    'needs the PostgreSQL server it names (db-copy.test.ts)',
  'pkim notify run': "delivers to the rule's webhook at hooks.example.com (notify-cli.test.ts: a local receiver)",
  'pkim keystore run --interval 1h': 'a scheduler that keeps running (keystore-cli.test.ts)',
};
// keystore commands talk to a pkim serve's Vault API with Vault credentials and to HSM endpoints (keystore-cli.test.ts)
for (const [path, examples] of Object.entries(COMMAND_EXAMPLES)) {
  if (path.startsWith('keystore ')) {
    for (const e of examples) CANNOT_RUN[e] ??= 'needs Vault credentials and keystore endpoints (keystore-cli.test.ts)';
  }
}

describe('every example runs', () => {
  const tmp = tempDir('pkim-examples-');
  const f = (name: string) => join(tmp.dir, name);
  const inputs = f('inputs');
  const dataDir = f('data');
  const XDG = { XDG_CONFIG_HOME: f('xdg') };
  const pkim = (...args: string[]): CliResult => runPkim(args, { dataDir, cwd: tmp.dir, env: XDG });
  const ok = (r: CliResult, what: string) => {
    expect(r.code, `${what}: ${r.stderr}`).toBe(0);
    return r;
  };
  // the JSON of a command (as CliResult.json: the caller names the shape it reads)
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  const json = <T>(...args: string[]) => ok(pkim('--json', ...args), args.join(' ')).json<T>();
  let server: PkimServer;
  let token = '';
  let expired = { serial: '' };
  /** example word → the real one (ids, serials, names) */
  const words = new Map<string, string>();
  /** per example: words replaced only there, and what is done just before it */
  const only = new Map<string, Map<string, string>>();
  const before = new Map<string, () => void>();
  const replace = (example: string, from: string, to: string) => {
    if (!only.has(example)) only.set(example, new Map());
    only.get(example)!.set(from, to);
  };
  const input = (name: string, content: string) => writeFileSync(join(inputs, name), content);
  const issue = (...extra: string[]) =>
    json<{ serial: string; id: string }>('cert', 'issue', '--ca', 'issuing', '--cn', 'x.example.com', ...extra);

  beforeAll(async () => {
    mkdirSync(inputs, { recursive: true });
    ok(pkim('init'), 'init');
    const created = json<{ token: string }>('token', 'create', '--name', 'examples', '--role', 'admin');
    token = created.token;
    input('token.txt', `${token}\n`);
    input('pass.txt', 'export-password\n');
    input('pw', 'a long enough password 42\n');
    input('new-secret.txt', 'a-new-webhook-secret-of-32-bytes-or-more\n');
    input(
      'web.csr',
      opensslCsr({ keyType: 'ec-p256', subject: '/CN=web.example.com', sans: ['DNS:web.example.com'] }).csrPem,
    );
    input('hosts.csv', 'cn,sans\na.example.com,a.example.com\nb.example.com,b.example.com;www.b.example.com\n');
    const profile = (name: string) => ({
      name,
      description: 'lab clients',
      isCa: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      allowedSanTypes: ['email'],
      sanRequired: false,
      allowedKeyTypes: ['ec-p256'],
      defaultLifetime: '30d',
      maxLifetime: '90d',
    });
    input('lab-client.json', JSON.stringify(profile('lab-client')));
    input('lab-client-2.json', JSON.stringify(profile('lab-client-2')));
    for (const key of ['id_ed25519', 'ssh_host_ed25519_key', 'alice']) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(tmp.dir, key)]);
      copyFileSync(join(tmp.dir, `${key}.pub`), join(inputs, `${key}.pub`));
    }
    const ca = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
    const oldRoot = opensslSelfSigned({ subject: '/CN=Old Root', days: 30, addext: ca });
    input('old-root.pem', oldRoot.certPem);
    input('old-root.key', oldRoot.keyPem);
    // an issuing CA made by openssl under an openssl root, its key encrypted with the password of `pw`
    const outsideRoot = opensslSelfSigned({ subject: '/CN=Outside Old Root', days: 30, addext: ca });
    const issuingCsr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Outside Issuing' });
    const signed = opensslSignCaCsr(issuingCsr.csrPem, undefined, { issuer: outsideRoot });
    input('root.pem', outsideRoot.certPem);
    input('issuing.pem', signed.subPem);
    writeFileSync(f('plain.key'), issuingCsr.keyPem);
    execFileSync('openssl', [
      ...['pkcs8', '-topk8', '-in', f('plain.key'), '-out', join(inputs, 'issuing.key')],
      ...['-passout', `file:${join(inputs, 'pw')}`, '-v2', 'aes-256-cbc'],
    ]);
    server = await startPkimServer(dataDir, [], XDG);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  // ------------------------------------------------------------------ what each example needs, made just before it
  words.set('/var/lib/pkim', f('init-data'));
  before.set('pkim restore --from pkim-2026-12-02.backup', () => {
    const backup = readdirSync(f('ex')).find((d) => readdirSync(f(`ex/${d}`)).includes('pkim-2026-12-02.backup'));
    copyFileSync(f(`ex/${backup}/pkim-2026-12-02.backup`), join(inputs, 'pkim-2026-12-02.backup'));
  });
  before.set('pkim ca import issuing --cert issuing-signed.pem --issuer-cert outside-root.pem', () => {
    const e = json<{ csr: string }>('ca', 'create', '--external', '--name', 'ext-issuing', '--subject', 'CN=Ext CA');
    const outside = opensslSignCaCsr(e.csr);
    input('issuing-signed.pem', outside.subPem);
    input('outside-root.pem', outside.rootPem);
  });
  replace('pkim ca import issuing --cert issuing-signed.pem --issuer-cert outside-root.pem', 'issuing', 'ext-issuing');
  before.set('pkim ca rename ca_0123456789abcdef issuing --json', () => {
    words.set('ca_0123456789abcdef', json<{ id: string }>('ca', 'show', 'issuing-2026').id);
  });
  const spareCa = (example: string, name: string) => {
    before.set(example, () =>
      ok(pkim('ca', 'create', '--name', name, '--parent', 'root', '--subject', `CN=${name}`), name),
    );
    replace(example, 'issuing', name);
  };
  // examples that revoke, disable or delete a CA: on a CA of their own, so that issuing stays for the others
  spareCa('pkim ca revoke issuing --reason cACompromise', 'doomed');
  spareCa('pkim ca rotate issuing --name issuing-2027 --disable-old', 'spare');
  // an intermediate is deleted once it has expired (no waiting here); a revoked root at once
  before.set('pkim ca delete old-issuing --destroy-key', () => {
    ok(pkim('ca', 'create', '--name', 'old-issuing', '--subject', 'CN=Old Issuing'), 'old-issuing');
    ok(pkim('ca', 'revoke', 'old-issuing', '--reason', 'cessationOfOperation'), 'revoke old-issuing');
  });
  // only an expired certificate is deleted: one of a second, long gone when `cert delete` runs (waited for there)
  before.set('pkim cert issue --ca issuing --cn web.example.com --ttl 30d --out-cert web.pem --out-key web.key', () => {
    expired = json<{ serial: string }>('cert', 'issue', '--ca', 'issuing', '--cn', 'gone.example.com', '--ttl', '1s');
  });
  // certificates: a kept key (show, export, renew), one each to revoke, delete and revoke in a batch
  before.set('pkim cert show 01a249763478c2f1', () => {
    const kept = issue('--keep-key');
    words.set('01a249763478c2f1', kept.serial);
    words.set('crt_0mx627yjffe75d9ed73c0eb7b8aa1', kept.id);
    replace('pkim cert revoke 01a249763478c2f1 --reason keyCompromise', '01a249763478c2f1', issue().serial);
    input('compromised.txt', `${issue().serial}\n${issue().serial}\n`);
    input(
      'compromised.pem',
      json<{ certificatePem: string }>('cert', 'issue', '--ca', 'issuing', '--cn', 'p.example.com').certificatePem,
    );
  });
  before.set('pkim cert delete 01a249763478c2f1', () => {
    replace('pkim cert delete 01a249763478c2f1', '01a249763478c2f1', expired.serial);
    const deadline = Date.now() + 60_000;
    const notAfter = json<{ notAfter: string }>('cert', 'show', expired.serial).notAfter;
    while (Date.now() <= Date.parse(notAfter) && Date.now() < deadline) execFileSync('sleep', ['0.2']);
  });
  before.set('pkim request show req_0mx627yjffe75d9ed73c0eb7b8aa1', () => {
    const submit = () => json<{ id: string }>('request', 'submit', '--ca', 'issuing', '--csr', join(inputs, 'web.csr'));
    const [shown, approved, rejected] = [submit(), submit(), submit()];
    ok(pkim('request', 'approve', shown.id), 'approve');
    const id = 'req_0mx627yjffe75d9ed73c0eb7b8aa1';
    words.set(id, shown.id);
    replace(`pkim request approve ${id} --out web.pem`, id, approved.id);
    replace(`pkim request reject ${id} --reason 'not our domain'`, id, rejected.id);
  });
  before.set('pkim ssh sign --ca prod-users --public-key id_ed25519.pub --principal alice --ttl 8h', () =>
    ok(pkim('ssh', 'ca', 'create', '--name', 'prod-hosts', '--type', 'host', '--environment', 'prod'), 'prod-hosts'),
  );
  before.set('pkim ssh revoke 42 --ca prod-users', () => {
    const alice = ['--public-key', join(inputs, 'alice.pub'), '--principal', 'alice', '--key-id', 'alice'];
    ok(pkim('ssh', 'sign', '--ca', 'prod-users', ...alice), 'sign alice');
    const certs = json<{ items: { serial: string; keyId: string }[] }>('ssh', 'list', '--ca', 'prod-users');
    words.set('42', certs.items.find((c) => c.keyId !== 'alice')!.serial);
  });
  before.set('pkim ssh unblock blk_0mx627yjffe75d9ed73c0eb7b8aa1', () => {
    words.set('blk_0mx627yjffe75d9ed73c0eb7b8aa1', json<{ items: { id: string }[] }>('ssh', 'blocks').items[0]!.id);
  });
  before.set('pkim ssh fleet-token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1', () => {
    const tokens = json<{ items: { id: string }[] }>('ssh', 'fleet-token', 'list');
    replace(
      'pkim ssh fleet-token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1',
      'tok_0mx627yjffe75d9ed73c0eb7b8aa1',
      tokens.items[0]!.id,
    );
  });
  before.set('pkim token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1', () => {
    const ci = json<{ items: { id: string; name: string }[] }>('token', 'list').items.find((t) => t.name === 'ci')!;
    replace('pkim token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1', 'tok_0mx627yjffe75d9ed73c0eb7b8aa1', ci.id);
  });
  before.set('pkim acme eab revoke eab_0mx627yjffe75d9ed73c0eb7b8aa1', () => {
    const eab = json<{ items: { kid: string }[] }>('acme', 'eab', 'list', '--ca', 'issuing').items[0]!;
    words.set('eab_0mx627yjffe75d9ed73c0eb7b8aa1', eab.kid);
  });

  /** the order they run in: the table's, but what others need first and what ends something last */
  const FIRST = ['ssh env create', 'ssh ca create', 'ssh principal add'];
  const LAST = ['ssh ca rotate', 'ssh ca retire', 'acme disable', 'notify rule remove'];
  const rank = (path: string) => (FIRST.includes(path) ? FIRST.indexOf(path) - FIRST.length : +LAST.includes(path));
  const runnable = Object.entries(COMMAND_EXAMPLES)
    .map(([path, examples], i) => ({ path, examples, i }))
    .sort((a, b) => rank(a.path) - rank(b.path) || a.i - b.i)
    .flatMap(({ examples }) => examples.filter((e) => !(e in CANNOT_RUN)));

  it('CANNOT_RUN names only examples of the table', () => {
    const all = new Set(Object.values(COMMAND_EXAMPLES).flat());
    expect(Object.keys(CANNOT_RUN).filter((e) => !all.has(e))).toEqual([]);
    expect(runnable.length).toBeGreaterThan(130);
  });

  let n = 0;
  it.each(runnable)('%s', (example) => {
    before.get(example)?.();
    const mine = only.get(example);
    const args = shellWords(example)
      .slice(1)
      .map((w) => mine?.get(w) ?? words.get(w) ?? w);
    const at = args.indexOf('--server');
    if (at >= 0) args.splice(at, 2, '--server', server.url, ...(args[0] === 'login' ? [] : ['--token', token]));
    // each in a directory of its own, with the input files: an output file of one is not another's
    const cwd = f(`ex/${String(++n).padStart(3, '0')}`);
    cpSync(inputs, cwd, { recursive: true });
    // restore: into a data directory of its own (it refuses one in use)
    // an e-mail rule needs an SMTP server configured (none is contacted by adding the rule)
    const env = { ...XDG, ...(args.includes('--email') ? { PKIM_SMTP_HOST: 'localhost' } : {}) };
    const stdin = args.includes('-') ? readFileSync(join(inputs, 'lab-client-2.json'), 'utf8') : undefined;
    const r = runPkim(args, { dataDir: args[0] === 'restore' ? f('restored') : dataDir, cwd, env, input: stdin });
    expect(r.code, `pkim ${args.join(' ')}\n${r.stderr}`).toBe(0);
    // nothing on stderr but warnings (a CA without CRL/OCSP URLs, a file holding a private key…)
    expect(
      r.stderr.split('\n').filter((l) => l && !l.startsWith('warning: ')),
      example,
    ).toEqual([]);
    if (args.includes('--json')) expect(() => r.json(), example).not.toThrow();
    else expect(r.stdout.length + readdirSync(cwd).length, example).toBeGreaterThan(0);
  });
});
