// Remote mode covers the whole CLI (issue #17 item 2): every command of the tree either runs against a server through
// its REST twin (remote-command-table.ts REMOTE_COMMANDS, whose procedures must be REST twins of the contract), or
// is in the explicit LOCAL_ONLY table with the reason its `remote.unsupported` refusal gives, or is the same in both
// modes (login, logout, completion). A new command in none of them fails here, naming it.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { REST_TWINS } from '@pkim/contract';
import { registerCommands } from '../src/command-tree';
import { commandPath } from '../src/command-examples';
import type { CliContext } from '../src/cli-context';
import { EITHER_MODE, LOCAL_ONLY, REMOTE_COMMANDS } from '../src/remote/remote-command-table';
import type { RemoteCommand } from '../src/remote/remote-commands';

async function leafCommands(): Promise<string[]> {
  const program = new Command().name('pkim');
  await registerCommands(program, {} as CliContext);
  const out: string[] = [];
  const visit = (c: Command) => {
    for (const sub of c.commands) {
      if (sub.commands.length === 0) out.push(commandPath(sub));
      visit(sub);
    }
  };
  visit(program);
  return out;
}

const covers = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix} `);

/** the problems of the tables against the command tree (empty: every command has a mode) */
function coverageProblems(
  leaves: string[],
  remote: Readonly<Record<string, RemoteCommand>>,
  localOnly: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  for (const path of leaves) {
    const modes = [
      remote[path] ? 'remote' : '',
      Object.keys(localOnly).some((p) => covers(p, path)) ? 'local-only' : '',
      EITHER_MODE.some((p) => covers(p, path)) ? 'either' : '',
    ].filter(Boolean);
    if (modes.length === 0) problems.push(`${path}: neither remote nor local-only`);
    if (modes.length > 1) problems.push(`${path}: listed as ${modes.join(' and ')}`);
  }
  for (const [path, r] of Object.entries(remote)) {
    if (!leaves.includes(path)) problems.push(`${path}: a remote form of a command that does not exist`);
    if (!(r.procedure in REST_TWINS)) problems.push(`${path}: ${r.procedure} has no REST twin`);
    for (const [option, o] of Object.entries(r.withOption ?? {}))
      if (!(o.procedure in REST_TWINS)) problems.push(`${path} --${option}: ${o.procedure} has no REST twin`);
  }
  for (const [prefix, why] of Object.entries(localOnly)) {
    if (!leaves.some((l) => covers(prefix, l))) problems.push(`${prefix}: local-only but no such command`);
    if (why.trim().length < 20) problems.push(`${prefix}: local-only without a reason`);
  }
  return problems;
}

describe('remote mode covers every command', () => {
  it('each command runs through a REST twin, is local-only with a reason, or is the same in both modes', async () => {
    const leaves = await leafCommands();
    expect(leaves.length).toBeGreaterThan(100);
    expect(coverageProblems(leaves, REMOTE_COMMANDS, LOCAL_ONLY)).toEqual([]);
    // most of the CLI works remotely: the local-only table is the exception
    const remote = leaves.filter((l) => REMOTE_COMMANDS[l]).length;
    expect(remote / leaves.length).toBeGreaterThan(0.75);
  });

  it('positive control: a command in no table, a stale entry and a procedure without a twin are named', async () => {
    const leaves = await leafCommands();
    const { 'token revoke': _dropped, ...remote } = REMOTE_COMMANDS;
    expect(coverageProblems(leaves, remote, LOCAL_ONLY)).toEqual(['token revoke: neither remote nor local-only']);
    const stale = {
      ...REMOTE_COMMANDS,
      'ca frobnicate': { procedure: 'ca.list', input: () => undefined },
      'token revoke': { procedure: 'token.vanish', input: () => undefined },
      'ca create': { ...REMOTE_COMMANDS['ca create'], withOption: { external: { procedure: 'ca.vanish' } } },
    } as unknown as Record<string, RemoteCommand>;
    const found = coverageProblems(leaves, stale, { ...LOCAL_ONLY, 'ca list': 'a reason that is long enough here' });
    expect(found.sort()).toEqual([
      'ca create --external: ca.vanish has no REST twin',
      'ca frobnicate: a remote form of a command that does not exist',
      'ca list: listed as remote and local-only',
      'token revoke: token.vanish has no REST twin',
    ]);
  });
});
