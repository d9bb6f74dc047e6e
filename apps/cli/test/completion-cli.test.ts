// `pkim completion bash|zsh` (issue #17 item 2): scripts generated from the command tree. The bash script is
// sourced in a real bash and asked, as bash's completion does (COMP_WORDS/COMP_CWORD), for a few prefixes; the zsh
// script is syntax-checked with `zsh -n` and its widget is run in a real zsh (words/CURRENT set, compadd recorded).
// CA names (local data dir, server): completion-names-cli.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-in-process';
import { completionShells, type CompletionShells } from '../../../tests/support/completion-shells';
import { tempDir } from '../../../tests/support/openssl-tools';
import { requireBinary } from '../../../tests/support/verifiers';

describe('pkim completion', () => {
  const tmp = tempDir('pkim-completion-');
  const dataDir = join(tmp.dir, 'data');
  const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
  const pkim = (...args: string[]) => runPkim(args, { dataDir, init: false, env: XDG });
  let shells: CompletionShells;
  const complete = (...words: string[]) => shells.bash(...words);
  const zshComplete = (...words: string[]) => shells.zsh(...words);

  beforeAll(() => {
    shells = completionShells(tmp.dir, dataDir, XDG);
  });
  afterAll(() => tmp.cleanup());

  it('bash: commands, subcommands and options by prefix, after global options too', () => {
    expect(complete('pkim', 'c')).toEqual(['ca', 'cert', 'completion', 'crl']);
    expect(complete('pkim', 'ca', 'cr')).toEqual(['create']);
    expect(complete('pkim', '--json', 'crl', '')).toEqual(['generate']);
    expect(complete('pkim', 'cert', 'sign', '--c')).toEqual(['--ca', '--ca-file', '--config', '--csr']);
    expect(complete('pkim', 'cert', 'sign', '--ca', 'issuing', '--out-c')).toEqual(['--out-cert', '--out-chain']);
    expect(complete('pkim', 'log')).toEqual(['login', 'logout']);
    expect(complete('pkim', 'login', '--tok')).toEqual(['--token', '--token-file']);
    expect(complete('pkim', '--ser')).toEqual(['--server']);
    // a leaf command's argument: files
    writeFileSync(join(tmp.dir, 'req.csr'), '');
    expect(complete('pkim', 'cert', 'sign', '--csr', 're')).toEqual(['req.csr']);
  });

  it('bash: the values of options with fixed choices, as the command accepts them', () => {
    expect(complete('pkim', 'cert', 'export', 'crt_1', '--format', 'p7')).toEqual(['p7b', 'p7b-pem']);
    expect(complete('pkim', 'cert', 'revoke', 'crt_1', '--reason', 'ke')).toEqual(['keyCompromise']);
    expect(complete('pkim', 'ca', 'create', '--key-type', 'ec')).toEqual(['ec-p256', 'ec-p384']);
    expect(complete('pkim', 'ca', 'create', '--backend', '')).toEqual(['kmip', 'pkcs11', 'software']);
    expect(complete('pkim', 'cert', 'list', '--format', '')).toEqual(['csv', 'json', 'table']);
    expect(complete('pkim', 'token', 'create', '--role', 'a')).toEqual(['admin', 'auditor']);
    expect(complete('pkim', 'notify', 'deliveries', '--status', 'f')).toEqual(['failed']);
    // after the value, options again; a free-text option (--cn) gets files, not values
    expect(complete('pkim', 'cert', 'revoke', 'crt_1', '--reason', 'superseded', '--j')).toEqual(['--json']);
    writeFileSync(join(tmp.dir, 'names.txt'), '');
    expect(complete('pkim', 'cert', 'issue', '--cn', 'nam')).toEqual(['names.txt']);
    // what is offered is what the command takes: every offered --format of cert export is accepted by its parser
    const offered = complete('pkim', 'cert', 'export', 'x', '--format', '');
    expect(offered).toEqual(['chain', 'der', 'jks', 'key', 'p12', 'p7b', 'p7b-pem', 'pem', 'zip']);
    const refused = pkim('cert', 'export', 'x', '--format', 'nope');
    expect(refused.stderr).toMatch(/unknown format 'nope' \(use pem, der, chain, p7b, p7b-pem, p12, jks, key, zip\)/);
  });

  it('bash: every command of `pkim --help` is offered', () => {
    const help = pkim('--help').stdout;
    const commands = [...help.split('Commands:')[1]!.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThan(15);
    expect(complete('pkim', '')).toEqual(expect.arrayContaining(commands));
  });

  it('bash: registered for pkim (complete -p); `pkim ca ` and `pkim cert list --` offer what --help lists', () => {
    const registered = spawnSync(
      'bash',
      ['--norc', '--noprofile', '-c', `source ${JSON.stringify(shells.bashScript)}\ncomplete -p pkim`],
      { encoding: 'utf8', env: shells.env },
    );
    expect(registered.status, registered.stderr).toBe(0);
    expect(registered.stdout).toMatch(/^complete .*-F _pkim .*pkim$/m);
    // the subcommands of `ca` and the options of `cert list`, as commander's help lists them (one tree, no list)
    const caHelp = pkim('ca', '--help').stdout;
    const caCommands = [...caHelp.split('Commands:')[1]!.matchAll(/^ {2}([a-z][\w-]*)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help'); // commander's implicit `help [command]` is not offered
    expect(caCommands.length).toBeGreaterThan(5);
    expect(complete('pkim', 'ca', '')).toEqual(expect.arrayContaining(caCommands));
    const listHelp = pkim('cert', 'list', '--help').stdout.split('Options:')[1]!;
    const listOptions = [...listHelp.matchAll(/^ {2}(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1]!);
    expect(listOptions).toEqual(expect.arrayContaining(['--ca', '--status', '--format']));
    expect(complete('pkim', 'cert', 'list', '--')).toEqual(expect.arrayContaining(listOptions));
  });

  it('bash: --flag=value (one word, or split at = as bash does), comma lists after the values given', () => {
    expect(complete('pkim', 'cert', 'export', 'x', '--format=p7')).toEqual(['--format=p7b', '--format=p7b-pem']);
    // bash's COMP_WORDBREAKS has '=': `--format=p7` reaches the function as three words
    expect(complete('pkim', 'cert', 'export', 'x', '--format', '=', 'p7')).toEqual(['p7b', 'p7b-pem']);
    expect(complete('pkim', 'cert', 'export', 'x', '--format', '=')).toHaveLength(9);
    // after an option=value, the command's options again
    expect(complete('pkim', 'cert', 'export', 'x', '--format', '=', 'pem', '--o')).toEqual(['--out']);
    expect(complete('pkim', 'notify', 'rule', 'add', '--events', 'certificate.issued,ca')).toEqual([
      'certificate.issued,ca.expiring',
    ]);
    expect(complete('pkim', 'notify', 'rule', 'add', '--events=crl.stale,certificate.re')).toEqual([
      '--events=crl.stale,certificate.renewed',
      '--events=crl.stale,certificate.revoked',
    ]);
    expect(complete('pkim', 'notify', 'rule', 'add', '--days', '30,')).toEqual(['30,1', '30,7']);
    // a list option's first value, and a single-value option never gets a list
    expect(complete('pkim', 'notify', 'rule', 'add', '--days', '')).toEqual(['1', '30', '7']);
    expect(complete('pkim', 'cert', 'list', '--format', 'csv,')).toEqual([]);
  });

  it('bash: options whose values no parser checked before are offered and refused from one list', () => {
    expect(complete('pkim', 'keystore', 'template', 'set', 't', '--key-type', '')).toEqual(['ec', 'ed25519', 'rsa']);
    expect(complete('pkim', 'ssh', 'ca', 'create', '--backend', 'p')).toEqual(['pkcs11']);
    expect(complete('pkim', 'cert', 'download-batch', '--status', '')).toEqual(['active', 'expired', 'revoked']);
    expect(complete('pkim', 'cert', 'bulk', '--mode', '')).toEqual(['all-or-nothing', 'per-row']);
    const refusals: [string[], string][] = [
      [
        ['keystore', 'template', 'set', 't', '--cn-pattern', 'x-{tenant_id}', '--key-type', 'dsa'],
        "unknown key type 'dsa' (use rsa, ec or ed25519)",
      ],
      [['ssh', 'ca', 'create', '--name', 'u', '--type', 'user', '--backend', 'hsm'], "unknown key backend 'hsm'"],
      [['cert', 'download-batch', '--ca', 'ab', '--status', 'valid', '--out', 'x.zip'], "unknown status 'valid'"],
    ];
    for (const [args, message] of refusals) {
      const r = pkim(...args);
      expect(r.code, `pkim ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`error: input.invalid: `);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('zsh: the script parses (zsh -n) and its lookups answer in a real zsh', () => {
    requireBinary('zsh');
    const syntax = spawnSync('zsh', ['-n', shells.zshScript], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const r = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -D && source ${shells.zshScript} && ` +
          '_pkim_subcommands ca && _pkim_command --json cert sign --ca issuing && _pkim_values "cert revoke" --reason',
      ],
      { encoding: 'utf8', cwd: tmp.dir },
    );
    expect(r.status, r.stderr).toBe(0);
    const [subcommands, path, reasons] = r.stdout.trim().split('\n');
    expect(subcommands?.split(' ')).toEqual(expect.arrayContaining(['create', 'list', 'show', 'revoke']));
    expect(path).toBe('cert sign');
    expect(reasons?.split(' ')).toEqual(expect.arrayContaining(['keyCompromise', 'superseded', 'cACompromise']));
  });

  it('zsh: the widget completes values, --flag=value and comma lists in a real zsh', () => {
    requireBinary('zsh');
    expect(zshComplete('pkim', 'ca', 'cr')).toEqual(['create']);
    expect(zshComplete('pkim', 'cert', 'revoke', 'x', '--reason', 'ke')).toEqual(['keyCompromise']);
    expect(zshComplete('pkim', 'cert', 'export', 'x', '--format=p7')).toEqual(['--format=p7b', '--format=p7b-pem']);
    expect(zshComplete('pkim', 'notify', 'rule', 'add', '--events', 'ca.expiring,crl')).toEqual([
      'ca.expiring,crl.stale',
    ]);
    expect(zshComplete('pkim', 'ssh', 'ca', 'create', '--backend', 'k')).toEqual(['kmip']);
    expect(zshComplete('pkim', 'cert', 'sign', '--csr', 'x')).toEqual(['<files>']);
  });

  it('refuses another shell with the usual error line', () => {
    const r = pkim('completion', 'fish');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: input.invalid: unknown shell 'fish' (use bash or zsh)\n");
  });
});
