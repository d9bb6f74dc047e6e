// Remote mode (`--server`, PKIM_SERVER, the config file's `server` or the `pkim login` profile): before a command
// runs, its action is replaced by the call of its procedure on the server (remote-commands.ts). A command with no
// remote form refuses with `remote.unsupported` instead of quietly working on a local data directory.
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { RestTwinName } from '@pkim/contract';
import type { CliContext } from '../cli-context';
import type { RemoteTarget } from '../config/cli-config';
import { callRemote, serverLabel } from './remote-client';
import { human } from './remote-commands';
import { EITHER_MODE, LOCAL_ONLY, REMOTE_COMMANDS } from './remote-command-table';

/** `ca create` for the command `pkim ca create` */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

const startsWith = (path: string, prefixes: readonly string[]) =>
  prefixes.some((p) => path === p || path.startsWith(`${p} `));

export function useRemote(command: Command, ctx: CliContext, target: RemoteTarget): void {
  const path = commandPath(command);
  if (startsWith(path, EITHER_MODE)) return;
  if (target.problem) throw target.problem;
  const how = `remote mode: ${serverLabel(target.server)} from the ${target.source}; --local runs it here`;
  const local = Object.keys(LOCAL_ONLY).find((p) => startsWith(path, [p]));
  if (local) {
    throw new PkiError('remote.unsupported', `pkim ${path} runs on this machine only: ${LOCAL_ONLY[local]} (${how})`);
  }
  const form = REMOTE_COMMANDS[path];
  if (!form) throw new PkiError('remote.unsupported', `pkim ${path} has no remote form yet (${how})`);
  command.action(async (...args: unknown[]) => {
    // commander calls the action with the arguments, the options and the command
    const o = args.at(-2) as Record<string, unknown>;
    const positional = args.slice(0, -2).map((a) => a as string);
    const option = Object.keys(form.withOption ?? {}).find((k) => o[k] !== undefined && o[k] !== false);
    const remote = option ? form.withOption![option]! : form;
    if (remote.direct && (await remote.direct(ctx, o, target))) return;
    const call = async (procedure: RestTwinName, input?: Record<string, unknown>) =>
      (await callRemote(target, procedure, input)) as Record<string, unknown>;
    const out = await call(remote.procedure, await remote.input(positional, o, call));
    if (remote.print) await remote.print(ctx, out, o, positional, call);
    else ctx.output(out, () => human(out));
  });
}
