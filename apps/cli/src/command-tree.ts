import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { addExamples } from './command-examples';
import { addForceOptions } from './output-files';

type Registrar = (program: Command, ctx: CliContext) => void;

interface CommandModule {
  /** the top-level commands the module adds or extends */
  commands: string[];
  /** loads the module (a chunk of its own in the compiled CLI) */
  load(): Promise<Registrar>;
}

/**
 * Every command module of `pkim`, in the order of `pkim --help`. A command run loads only the modules of its
 * top-level command (`pkim ca list`: ca-command), not the whole tree: start-up time,
 * docs/benchmarks.md. apps/cli/test/cli-help.test.ts checks that each module adds exactly the commands listed here.
 */
export const COMMAND_MODULES: CommandModule[] = [
  { commands: ['init'], load: async () => (await import('./commands/init-command')).registerInitCommand },
  { commands: ['ca'], load: async () => (await import('./commands/ca-command')).registerCaCommand },
  { commands: ['cert'], load: async () => (await import('./commands/cert-command')).registerCertCommand },
  { commands: ['crl'], load: async () => (await import('./commands/crl-command')).registerCrlCommand },
  { commands: ['request'], load: async () => (await import('./commands/request-command')).registerRequestCommand },
  {
    commands: ['dashboard'],
    load: async () => (await import('./commands/dashboard-command')).registerDashboardCommand,
  },
  { commands: ['audit'], load: async () => (await import('./commands/audit-command')).registerAuditCommand },
  { commands: ['profile'], load: async () => (await import('./commands/profile-command')).registerProfileCommand },
  { commands: ['ssh'], load: async () => (await import('./commands/ssh-command')).registerSshCommand },
  { commands: ['db'], load: async () => (await import('./commands/db-command')).registerDbCommand },
  {
    commands: ['backup', 'restore'],
    load: async () => (await import('./commands/backup-command')).registerBackupCommands,
  },
  { commands: ['serve'], load: async () => (await import('./commands/serve-command')).registerServeCommand },
  { commands: ['token'], load: async () => (await import('./commands/token-command')).registerTokenCommand },
  { commands: ['user'], load: async () => (await import('./commands/user-command')).registerUserCommand },
  { commands: ['vault'], load: async () => (await import('./commands/vault-command')).registerVaultCommand },
  { commands: ['spiffe'], load: async () => (await import('./commands/spiffe-command')).registerSpiffeCommand },
  { commands: ['acme'], load: async () => (await import('./commands/acme-command')).registerAcmeCommand },
  {
    commands: ['keystore'],
    load: async () => (await import('./commands/keystore-command')).registerKeystoreCommand,
  },
  // export, renew, bulk, batch… beside the cert commands above
  {
    commands: ['cert'],
    load: async () => (await import('./commands/cert-lifecycle-command')).registerCertLifecycleCommands,
  },
  { commands: ['notify'], load: async () => (await import('./commands/notify-command')).registerNotifyCommand },
  {
    commands: ['login', 'logout'],
    load: async () => (await import('./commands/login-command')).registerLoginCommands,
  },
  // last: it generates its script from the whole command tree
  {
    commands: ['completion', '__complete'],
    load: async () => (await import('./commands/completion-command')).registerCompletionCommand,
  },
];

/** global options of main.ts that take a value (`--data-dir DIR`): their value is not the command's name */
const GLOBAL_VALUE_OPTIONS = new Set(['--data-dir', '--database-url', '--config', '--server', '--token', '--ca-file']);

/** the top-level command named on the command line (`pkim --json ca list` → ca), or undefined */
export function commandNamed(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('-')) return a;
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
  }
  return undefined;
}

/** `--version` / `-V` without a command and without a help option (which lists the commands) */
function versionOnly(args: string[]): boolean {
  const has = (...flags: string[]) => args.some((a) => flags.includes(a));
  return has('--version', '-V') && !has('--help', '-h');
}

/**
 * Registers the commands of `pkim` on `program` (main.ts), with the examples of their `--help`
 * (command-examples.ts). `args` (the command line after `pkim`): only the modules of the top-level command it
 * names; the whole tree without it, for `pkim --help`, `pkim help …`, an unknown command (commander's suggestions)
 * and `pkim completion`. The test of the help texts walks the whole tree (apps/cli/test/cli-help.test.ts).
 */
export async function registerCommands(program: Command, ctx: CliContext, args?: string[]): Promise<void> {
  const name = args ? commandNamed(args) : undefined;
  // `pkim --version` answers from main.ts's program alone: no command module (≈ 120 ms of CPU,
  // docs/benchmarks-record.md)
  if (name === undefined && args && versionOnly(args)) return;
  const only = COMMAND_MODULES.filter((m) => name !== undefined && m.commands.includes(name));
  const modules = only.length && name !== 'completion' ? only : COMMAND_MODULES;
  const registrars = await Promise.all(modules.map((m) => m.load()));
  for (const register of registrars) register(program, ctx);
  addForceOptions(program);
  addExamples(program);
}
