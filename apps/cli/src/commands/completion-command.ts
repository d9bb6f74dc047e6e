import type { Command, Option } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { offeredAsList, offeredValues } from '../option-values';

/** names completed from the data (local data dir or server): X.509 CAs, SSH CAs */
export const NAME_KINDS = ['ca', 'ssh-ca'] as const;
type NameKind = (typeof NAME_KINDS)[number];

interface Node {
  /** `ca create` ('' for pkim itself) */
  path: string;
  subcommands: string[];
  options: string[];
  /** the options that take a value (`--ca X`, `--ca=X`), the global ones included */
  valued: string[];
  /** values of the options with fixed choices (`--format` → pem, der, …), by long and short flag */
  values: Record<string, readonly string[]>;
  /** the options that take a comma-separated list of those values (`--events a,b`) */
  lists: string[];
  /** names completed from the data: by flag (`--ca`) or by argument position (`1`) */
  names: Record<string, NameKind>;
}

type WithParser = Option & { parseArg?: unknown };

const longAndShort = (options: readonly Option[]) =>
  options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));

const valuesOf = (options: readonly Option[]): Record<string, readonly string[]> =>
  Object.fromEntries(
    options.flatMap((o) => {
      const values = offeredValues((o as WithParser).parseArg) ?? o.argChoices;
      return values?.length ? longAndShort([o]).map((flag) => [flag, values] as const) : [];
    }),
  );

/** `<ca>` (an option's value or an argument) names a CA: an SSH CA under `pkim ssh` */
const nameKind = (valueName: string | undefined, path: string): NameKind | undefined =>
  valueName === 'ca' ? (path === 'ssh' || path.startsWith('ssh ') ? 'ssh-ca' : 'ca') : undefined;

const namesOf = (c: Command, path: string): Record<string, NameKind> => {
  const names: Record<string, NameKind> = {};
  for (const o of c.options) {
    const kind = nameKind(/[<[]([\w-]+)(\.\.\.)?[>\]]/.exec(o.flags)?.[1], path);
    if (kind) for (const flag of longAndShort([o])) names[flag] = kind;
  }
  c.registeredArguments.forEach((a, i) => {
    const kind = nameKind(a.name(), path);
    if (kind) names[String(i + 1)] = kind;
  });
  return names;
};

/** every command of the tree with its subcommands and options (the global ones, which work anywhere, included) */
export function completionTree(program: Command): Node[] {
  const global = [...longAndShort(program.options), '--help'];
  const globalValued = longAndShort(program.options.filter((o) => o.required || o.optional));
  const globalValues = valuesOf(program.options);
  const nodes: Node[] = [];
  const walk = (c: Command, path: string) => {
    const subs = c.commands.filter((s) => !(s as Command & { _hidden?: boolean })._hidden);
    const own = path === '' ? [] : c.options;
    nodes.push({
      path,
      subcommands: [...subs.flatMap((s) => [s.name(), ...s.aliases()]), ...(path === '' ? ['help'] : [])],
      options: [...new Set([...longAndShort(own), ...global])],
      valued: [...new Set([...longAndShort(own.filter((o) => o.required || o.optional)), ...globalValued])],
      values: { ...globalValues, ...valuesOf(own) },
      lists: longAndShort(own.filter((o) => offeredAsList((o as WithParser).parseArg))),
      names: path === '' ? {} : namesOf(c, path),
    });
    for (const s of subs) walk(s, path ? `${path} ${s.name()}` : s.name());
  };
  walk(program, '');
  return nodes;
}

const cases = (nodes: Node[], pick: (n: Node) => string[]) =>
  nodes.map((n) => `    '${n.path}') echo '${pick(n).join(' ')}' ;;`).join('\n');

const pairs = (nodes: Node[], pick: (n: Node) => Record<string, string | readonly string[]>) =>
  nodes
    .flatMap((n) =>
      Object.entries(pick(n)).map(
        ([key, v]) => `    '${n.path}|${key}') echo '${typeof v === 'string' ? v : v.join(' ')}' ;;`,
      ),
    )
    .join('\n');

/**
 * The shared part, valid in bash and zsh: the lookups, the command-line walk, the names read through
 * `pkim __complete` (with the command line's global options, so --server and --data-dir are honoured) and the
 * values of an option (`--flag=value` and comma lists included).
 */
function lookups(nodes: Node[]): string {
  return `_pkim_subcommands() {
  case "$1" in
${cases(nodes, (n) => n.subcommands)}
  esac
}
_pkim_options() {
  case "$1" in
${cases(nodes, (n) => n.options)}
  esac
}
# the options that take a value
_pkim_valued() {
  case "$1" in
${cases(nodes, (n) => n.valued)}
  esac
}
# the options that take a comma-separated list
_pkim_lists() {
  case "$1" in
${cases(
  nodes.filter((n) => n.lists.length),
  (n) => n.lists,
)}
  esac
}
# the values of an option with fixed choices: _pkim_values "cert export" --format
_pkim_values() {
  case "$1|$2" in
${pairs(nodes, (n) => n.values)}
  esac
}
# what names an option or argument takes (ca, ssh-ca): _pkim_names "ca show" 1, _pkim_names "cert sign" --ca
_pkim_names() {
  case "$1|$2" in
${pairs(nodes, (n) => n.names)}
  esac
}
# the command path (\`ca create\`) of the words before the cursor, options and their values skipped; with
# --count: the number of arguments after it instead
_pkim_command() {
  local cmd="" w subs skip=0 n=0 count=0
  [[ $1 == --count ]] && count=1 && shift
  for w in "$@"; do
    if [[ $skip == 1 ]]; then
      [[ $w == = ]] || skip=0
      continue
    fi
    if [[ $w == -* ]]; then
      [[ $w != *=* && " $(_pkim_valued "$cmd") " == *" $w "* ]] && skip=1
      continue
    fi
    [[ $w == = ]] && skip=1 && continue
    subs=" $(_pkim_subcommands "$cmd") "
    if [[ $subs == *" $w "* ]]; then
      cmd="\${cmd:+$cmd }$w"
      n=0
    else
      n=$((n + 1))
    fi
  done
  if [[ $count == 1 ]]; then echo "$n"; else echo "$cmd"; fi
}
# the names of a kind, from the data dir or the server of the command line (its global options), one a line; never
# more than 5 seconds (pkim gives up after 4 s itself, after 2 s without an answer from a server)
_pkim_fetch() {
  local kind="$1" w take=""
  local -a args
  args=()
  shift
  for w in "$@"; do
    if [[ -n $take ]]; then
      args+=("$take" "$w")
      take=""
      continue
    fi
    case "$w" in
      --data-dir=* | --database-url=* | --config=* | --server=* | --token=* | --ca-file=*) args+=("$w") ;;
      --data-dir | --database-url | --config | --server | --token | --ca-file) take="$w" ;;
      --local) args+=("$w") ;;
    esac
  done
  if command -v timeout >/dev/null 2>&1; then
    timeout 5 pkim "\${args[@]}" __complete "$kind" 2>/dev/null
  else
    pkim "\${args[@]}" __complete "$kind" 2>/dev/null
  fi
}
# the completions of an option's value or an argument, one a line: _pkim_candidates CMD FLAG|INDEX CUR WORDS...
# (a comma list completes its last element after those already given)
_pkim_candidates() {
  local cmd="$1" key="$2" cur="$3" head="" all kind w
  shift 3
  [[ -n $ZSH_VERSION ]] && setopt localoptions shwordsplit
  if [[ $cur == *,* && " $(_pkim_lists "$cmd") " == *" $key "* ]]; then head="\${cur%,*},"; fi
  kind="$(_pkim_names "$cmd" "$key")"
  if [[ -n $kind ]]; then all="$(_pkim_fetch "$kind" "$@")"; else all="$(_pkim_values "$cmd" "$key")"; fi
  for w in $all; do
    [[ ",$head" == *",$w,"* ]] && continue
    [[ "$head$w" == "$cur"* ]] && echo "$head$w"
  done
  return 0
}
# what to offer for the word being completed (CUR) after the words before it, one a line; status 1: file names.
# An option's value as the next word, as --flag=value in one word (zsh), or as "--flag" "=" "value" (bash splits at =)
_pkim_complete() {
  local cur="$1" flag="" pre="" prev="" prev2="" cmd all w
  shift
  [[ -n $ZSH_VERSION ]] && setopt localoptions shwordsplit
  for w in "$@"; do
    prev2="$prev"
    prev="$w"
  done
  cmd="$(_pkim_command "$@")"
  if [[ $cur == --*=* ]]; then
    flag="\${cur%%=*}"
    pre="$flag="
    cur="\${cur#*=}"
  elif [[ $cur == = && $prev == --* ]]; then
    flag="$prev"
    cur=""
  elif [[ $prev == = && $prev2 == --* ]]; then
    flag="$prev2"
  elif [[ $prev == -* && $prev != *=* && $cur != -* && " $(_pkim_valued "$cmd") " == *" $prev "* ]]; then
    flag="$prev"
  fi
  if [[ -n $flag ]]; then
    all="$(_pkim_candidates "$cmd" "$flag" "$cur" "$@")"
    [[ -z $all ]] && return 1
    for w in $all; do echo "$pre$w"; done
    return 0
  fi
  if [[ $cur == -* ]]; then
    for w in $(_pkim_options "$cmd"); do [[ $w == "$cur"* ]] && echo "$w"; done
    return 0
  fi
  all="$(_pkim_subcommands "$cmd")"
  if [[ -z $all ]]; then
    all="$(_pkim_candidates "$cmd" "$(($(_pkim_command --count "$@") + 1))" "$cur" "$@")"
    [[ -z $all ]] && return 1
  fi
  for w in $all; do [[ $w == "$cur"* ]] && echo "$w"; done
  return 0
}`;
}

export function bashCompletion(program: Command): string {
  return `# pkim completion for bash: source <(pkim completion bash)  (generated from the command tree)
${lookups(completionTree(program))}
_pkim() {
  COMPREPLY=($(_pkim_complete "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[@]:1:COMP_CWORD-1}")) ||
    COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _pkim pkim
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef pkim
# pkim completion for zsh: source <(pkim completion zsh), or save as _pkim in a directory of $fpath
${lookups(completionTree(program))}
_pkim() {
  local out
  if out="$(_pkim_complete "\${words[CURRENT]}" "\${(@)words[2,CURRENT-1]}")"; then
    [[ -n $out ]] && compadd -- "\${(@f)out}"
  else
    _files
  fi
}
if [[ \${funcstack[1]} == _pkim ]]; then _pkim "$@"; else compdef _pkim pkim; fi
`;
}

/**
 * How long `pkim __complete` may take before it gives up, printing nothing (the scripts also stop it after 5 s), and
 * how long a server may stay silent. A completion that waits is a shell that hangs.
 */
const NAMES_DEADLINE_MS = 4_000;
const SERVER_TIMEOUT_MS = 2_000;

/** the names of `kind` on the server of remote mode, or in the local data directory */
async function namesIn(kind: NameKind, ctx: CliContext): Promise<string[]> {
  const remote = ctx.config().remote;
  if (remote) {
    if (remote.problem) return [];
    const { callRemote } = await import('../remote/remote-client');
    const page = (await callRemote(
      remote,
      kind === 'ca' ? 'ca.list' : 'ssh.listCas',
      undefined,
      SERVER_TIMEOUT_MS,
    )) as {
      items?: { name?: unknown }[];
    };
    return (page.items ?? []).map((i) => i.name).filter((n): n is string => typeof n === 'string');
  }
  const a = await ctx.openAuthority();
  return kind === 'ca' ? (await a.cas.list()).map((c) => c.name) : (await a.ssh.listCas()).map((v) => v.ca.name);
}

/**
 * `pkim completion bash|zsh`: a completion script generated from the command tree; and the hidden
 * `pkim __complete ca|ssh-ca` the scripts call for names (nothing on any error, at most NAMES_DEADLINE_MS).
 */
export function registerCompletionCommand(program: Command, ctx: CliContext): void {
  program
    .command('__complete <kind>', { hidden: true })
    .description('names for the completion scripts, one a line')
    .action(async (kind: string) => {
      if (!(NAME_KINDS as readonly string[]).includes(kind))
        throw new PkiError('input.invalid', `unknown kind '${kind}' (use ${NAME_KINDS.join(' or ')})`);
      // a slow database or server gives no names rather than a shell that hangs: the binary exits at the deadline
      // (io.exit: what is still waiting is dropped), an in-process run returns without names
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<string[]>((resolve) => {
        deadline = setTimeout(() => (ctx.io.exit ? ctx.io.exit(0) : resolve([])), NAMES_DEADLINE_MS);
        deadline.unref();
      });
      // no names on an error (data dir not initialised, server unreachable, no token): the shell offers nothing
      const names = await Promise.race([namesIn(kind as NameKind, ctx).catch(() => []), late]);
      clearTimeout(deadline);
      ctx.io.stdout.write(names.map((n) => `${n}\n`).join(''));
    });
  program
    .command('completion <shell>')
    .description('print a shell completion script (bash or zsh): commands, subcommands, options and their fixed values')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh')
        throw new PkiError('input.invalid', `unknown shell '${shell}' (use bash or zsh)`);
      ctx.io.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
