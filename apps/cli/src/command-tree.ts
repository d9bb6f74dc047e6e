import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { registerInitCommand } from './commands/init-command';
import { registerCaCommand } from './commands/ca-command';
import { registerCertCommand } from './commands/cert-command';
import { registerCrlCommand } from './commands/crl-command';
import { registerRequestCommand } from './commands/request-command';
import { registerAuditCommand } from './commands/audit-command';
import { registerProfileCommand } from './commands/profile-command';
import { registerSshCommand } from './commands/ssh-command';
import { registerExtraCommands } from './extra-commands';
import { addExamples } from './command-examples';

/**
 * Every command of `pkim`, registered on `program` (main.ts), with the examples of its `--help`
 * (command-examples.ts). The test of the help texts walks the same tree (apps/cli/test/cli-help.test.ts).
 */
export async function registerCommands(program: Command, ctx: CliContext): Promise<void> {
  registerInitCommand(program, ctx);
  registerCaCommand(program, ctx);
  registerCertCommand(program, ctx);
  registerCrlCommand(program, ctx);
  registerRequestCommand(program, ctx);
  registerAuditCommand(program, ctx);
  registerProfileCommand(program, ctx);
  registerSshCommand(program, ctx);
  await registerExtraCommands(program, ctx);
  addExamples(program);
}
