import type { Command, Option } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { offeredValues } from '../option-values';

interface Node {
  /** `ca create` ('' for pkim itself) */
  path: string;
  subcommands: string[];
  options: string[];
  /** values of the options with fixed choices (`--format` → pem, der, …), by long and short flag */
  values: Record<string, readonly string[]>;
}

const longAndShort = (options: readonly Option[]) =>
  options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));

const valuesOf = (options: readonly Option[]): Record<string, readonly string[]> =>
  Object.fromEntries(
    options.flatMap((o) => {
      const values = offeredValues((o as Option & { parseArg?: unknown }).parseArg) ?? o.argChoices;
      return values?.length ? longAndShort([o]).map((flag) => [flag, values] as const) : [];
    }),
  );

/** every command of the tree with its subcommands and options (the global ones, which work anywhere, included) */
export function completionTree(program: Command): Node[] {
  const global = [...longAndShort(program.options), '--help'];
  const globalValues = valuesOf(program.options);
  const nodes: Node[] = [];
  const walk = (c: Command, path: string) => {
    const subs = c.commands.filter((s) => !(s as Command & { _hidden?: boolean })._hidden);
    nodes.push({
      path,
      subcommands: [...subs.flatMap((s) => [s.name(), ...s.aliases()]), ...(path === '' ? ['help'] : [])],
      options: [...new Set([...(path === '' ? [] : longAndShort(c.options)), ...global])],
      values: { ...globalValues, ...(path === '' ? {} : valuesOf(c.options)) },
    });
    for (const s of subs) walk(s, path ? `${path} ${s.name()}` : s.name());
  };
  walk(program, '');
  return nodes;
}

const cases = (nodes: Node[], pick: (n: Node) => string[]) =>
  nodes.map((n) => `    '${n.path}') echo '${pick(n).join(' ')}' ;;`).join('\n');

/** the shared part: the lookups and the command-path walk, valid in bash and zsh */
function lookups(nodes: Node[]): string {
  return [
    '_pkim_subcommands() {',
    '  case "$1" in',
    cases(nodes, (n) => n.subcommands),
    '  esac',
    '}',
    '_pkim_options() {',
    '  case "$1" in',
    cases(nodes, (n) => n.options),
    '  esac',
    '}',
    '# the values of an option with fixed choices: _pkim_values "cert export" --format',
    '_pkim_values() {',
    '  case "$1|$2" in',
    nodes
      .flatMap((n) => Object.entries(n.values).map(([flag, v]) => `    '${n.path}|${flag}') echo '${v.join(' ')}' ;;`))
      .join('\n'),
    '  esac',
    '}',
    '# the command path (`ca create`) of the words before the cursor, options and their values skipped',
    '_pkim_command() {',
    '  local cmd="" w subs',
    '  for w in "$@"; do',
    '    [[ $w == -* ]] && continue',
    '    subs=" $(_pkim_subcommands "$cmd") "',
    '    [[ $subs == *" $w "* ]] && cmd="${cmd:+$cmd }$w"',
    '  done',
    '  echo "$cmd"',
    '}',
  ].join('\n');
}

export function bashCompletion(program: Command): string {
  return `# pkim completion for bash: source <(pkim completion bash)  (generated from the command tree)
${lookups(completionTree(program))}
_pkim() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd subs
  cmd="$(_pkim_command "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  if [[ $prev == -* && $cur != -* ]]; then
    subs="$(_pkim_values "$cmd" "$prev")"
    if [[ -n $subs ]]; then
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_pkim_options "$cmd")" -- "$cur"))
    return
  fi
  subs="$(_pkim_subcommands "$cmd")"
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F _pkim pkim
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef pkim
# pkim completion for zsh: source <(pkim completion zsh), or save as _pkim in a directory of $fpath
${lookups(completionTree(program))}
_pkim() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmd subs
  cmd="$(_pkim_command "\${(@)words[2,CURRENT-1]}")"
  if [[ $prev == -* && $cur != -* ]]; then
    subs="$(_pkim_values "$cmd" "$prev")"
    if [[ -n $subs ]]; then
      compadd -- \${=subs}
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    subs="$(_pkim_options "$cmd")"
    compadd -- \${=subs}
    return
  fi
  subs="$(_pkim_subcommands "$cmd")"
  if [[ -n $subs ]]; then
    compadd -- \${=subs}
  else
    _files
  fi
}
if [[ \${funcstack[1]} == _pkim ]]; then _pkim "$@"; else compdef _pkim pkim; fi
`;
}

/** `pkim completion bash|zsh`: a completion script generated from the command tree. */
export function registerCompletionCommand(program: Command, _ctx: CliContext): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script (bash or zsh): commands, subcommands, options and their fixed values')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh')
        throw new PkiError('input.invalid', `unknown shell '${shell}' (use bash or zsh)`);
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
