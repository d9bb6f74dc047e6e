import type { Command } from 'commander';
import type { CliContext } from './cli-context';

/** Commands that live with other parts of the system (server, users, tokens, database operations). */
export async function registerExtraCommands(_program: Command, _ctx: CliContext): Promise<void> {
  // wired as those modules land
}
