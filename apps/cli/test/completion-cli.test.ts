// `pkim completion bash|zsh` (issue #17 item 2): scripts generated from the command tree. The bash script is
// sourced in a real bash and asked, as bash's completion does (COMP_WORDS/COMP_CWORD), for a few prefixes; the zsh
// script is syntax-checked with `zsh -n` and its lookups are run in a real zsh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-runner';
import { tempDir } from '../../../tests/support/openssl-tools';
import { requireBinary } from '../../../tests/support/verifiers';

describe('pkim completion', () => {
  const tmp = tempDir('pkim-completion-');
  const bashScript = join(tmp.dir, 'pkim.bash');
  const zshScript = join(tmp.dir, '_pkim');
  const pkim = (...args: string[]) =>
    runPkim(args, { dataDir: join(tmp.dir, 'data'), init: false, env: { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') } });

  beforeAll(() => {
    const bash = pkim('completion', 'bash');
    expect(bash.code, bash.stderr).toBe(0);
    writeFileSync(bashScript, bash.stdout);
    const zsh = pkim('completion', 'zsh');
    expect(zsh.code, zsh.stderr).toBe(0);
    writeFileSync(zshScript, zsh.stdout);
  });
  afterAll(() => tmp.cleanup());

  /** what bash offers after `words` (the last one is the word being completed) */
  function complete(...words: string[]): string[] {
    const script = [
      `source ${JSON.stringify(bashScript)}`,
      `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      '_pkim',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', cwd: tmp.dir });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

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

  it('zsh: the script parses (zsh -n) and its lookups answer in a real zsh', () => {
    requireBinary('zsh');
    const syntax = spawnSync('zsh', ['-n', zshScript], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const r = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -D && source ${zshScript} && ` +
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

  it('refuses another shell with the usual error line', () => {
    const r = pkim('completion', 'fish');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: input.invalid: unknown shell 'fish' (use bash or zsh)\n");
  });
});
