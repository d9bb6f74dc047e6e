// The completion scripts of `pkim completion bash|zsh` driven in real shells, with the real `pkim` on their PATH (the
// scripts call `pkim __complete` for CA names): `bash(...words)` runs the bash function as bash's completion does
// (COMP_WORDS/COMP_CWORD) and returns COMPREPLY; `zsh(...words)` runs the zsh widget with words/CURRENT set and
// compadd/_files recorded. The last word is the one being completed. Results sorted.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PKIM_BIN, runPkim } from './cli-runner';

export interface CompletionShells {
  bashScript: string;
  zshScript: string;
  /** the environment of the shells: pkim on PATH, PKIM_DATA_DIR = dataDir */
  env: NodeJS.ProcessEnv;
  bash(...words: string[]): string[];
  zsh(...words: string[]): string[];
}

function run(shell: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string[] {
  // a completion that hung would be killed here (status null) and fail the check below
  const r = spawnSync(shell, args, { encoding: 'utf8', cwd, env, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${shell} exited ${String(r.status)} (${String(r.signal)}): ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** writes both scripts and a `pkim` launcher under `dir`; the shells run in `dir` (file names are relative to it) */
export function completionShells(dir: string, dataDir: string, env: Record<string, string>): CompletionShells {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'pkim'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PKIM_BIN)} "$@"\n`,
  );
  chmodSync(join(bin, 'pkim'), 0o755);
  const scripts = { bash: join(dir, 'pkim.bash'), zsh: join(dir, '_pkim') };
  for (const shell of ['bash', 'zsh'] as const) {
    const r = runPkim(['completion', shell], { dataDir, init: false, env });
    if (r.code !== 0) throw new Error(`pkim completion ${shell}: ${r.stderr}`);
    writeFileSync(scripts[shell], r.stdout);
  }
  const shellEnv = {
    ...process.env,
    ...env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    PKIM_DATA_DIR: dataDir,
    PKIM_LOG_LEVEL: 'silent',
  };
  return {
    bashScript: scripts.bash,
    zshScript: scripts.zsh,
    env: shellEnv,
    bash: (...words) =>
      run(
        'bash',
        [
          '--norc',
          '--noprofile',
          '-c',
          [
            `source ${JSON.stringify(scripts.bash)}`,
            `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`,
            `COMP_CWORD=${words.length - 1}`,
            '_pkim',
            'printf "%s\\n" "${COMPREPLY[@]}"',
          ].join('\n'),
        ],
        dir,
        shellEnv,
      ),
    zsh: (...words) =>
      run(
        'zsh',
        [
          '-f',
          '-c',
          [
            'compdef() { :; }',
            `source ${JSON.stringify(scripts.zsh)}`,
            'compadd() { [[ $1 == -- ]] && shift; printf \'%s\\n\' "$@"; }',
            "_files() { print -r -- '<files>'; }",
            `words=(${words.map((w) => `'${w}'`).join(' ')})`,
            `CURRENT=${words.length}`,
            '_pkim',
          ].join('\n'),
        ],
        dir,
        shellEnv,
      ),
  };
}
