import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { registerDbCommand } from './commands/db-command';
import { registerBackupCommands } from './commands/backup-command';
import { registerServeCommand } from './commands/serve-command';
import { registerTokenCommand } from './commands/token-command';
import { registerUserCommand } from './commands/user-command';
import { registerVaultCommand } from './commands/vault-command';
import { registerSpiffeCommand } from './commands/spiffe-command';
import { registerAcmeCommand } from './commands/acme-command';
import { registerKeystoreCommand } from './commands/keystore-command';
import { registerCertLifecycleCommands } from './commands/cert-lifecycle-command';
import { registerNotifyCommand } from './commands/notify-command';
import { registerLoginCommands } from './commands/login-command';
import { registerCompletionCommand } from './commands/completion-command';

/** Commands that live with other parts of the system (server, users, tokens, database operations). */
export async function registerExtraCommands(program: Command, ctx: CliContext): Promise<void> {
  registerDbCommand(program, ctx);
  registerBackupCommands(program, ctx);
  registerServeCommand(program, ctx);
  registerTokenCommand(program, ctx);
  registerUserCommand(program, ctx);
  registerVaultCommand(program, ctx);
  registerSpiffeCommand(program, ctx);
  registerAcmeCommand(program, ctx);
  registerKeystoreCommand(program, ctx);
  registerCertLifecycleCommands(program, ctx);
  registerNotifyCommand(program, ctx);
  registerLoginCommands(program, ctx);
  // last: it generates its script from the whole command tree
  registerCompletionCommand(program, ctx);
  // wired as those modules land
}
