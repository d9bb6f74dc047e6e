import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { readFileOrStdin, type CliIo } from '../cli-io';
import { keyValues } from '../format';

function readToken(tokenFile: string | undefined, io: CliIo): string {
  let text: string;
  try {
    if (!tokenFile && io.stdinIsTTY) io.stderr.write('API token (then Enter and Ctrl-D): ');
    text = readFileOrStdin(tokenFile ?? '-');
  } catch (e) {
    throw new PkiError('input.invalid', `cannot read the token: ${(e as Error).message}`);
  }
  const token = text.trim();
  if (!token || /\s/.test(token)) {
    throw new PkiError('input.invalid', 'expected one API token (pkim token create) in --token-file or on stdin');
  }
  return token;
}

/** `pkim login` / `pkim logout`: the profile remote mode uses when no --server or PKIM_SERVER is given. */
export function registerLoginCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('check an API token against a server and keep both in ~/.config/pkim/config.json (mode 0600)')
    .option('--token-file <file>', 'read the API token from this file (- or default: stdin)')
    .addHelpText(
      'after',
      '\nThe server comes from the global --server (or PKIM_SERVER); --ca-file is kept for an https:// server.\n' +
        'Examples:\n  $ pkim token create --name laptop --role operator --json | jq -r .token | \\\n' +
        '      pkim login --server https://pki.example.com\n' +
        '  $ pkim login --server https://pki.internal:8443 --ca-file root.pem --token-file ~/.pkim-token',
    )
    .action(async (o: { tokenFile?: string }) => {
      const target = ctx.config().remote;
      if (!target?.server || target.source.startsWith('login profile')) {
        throw new PkiError('input.invalid', 'give the server: pkim login --server URL (or PKIM_SERVER)');
      }
      const token = readToken(o.tokenFile, ctx.io);
      const { callRemote, serverLabel } = await import('../remote/remote-client');
      // the token must work before it is kept: the server says who it is
      const me = (await callRemote({ ...target, token }, 'user.me')) as { name: string | null; role: string };
      const { writeLoginProfile } = await import('../config/login-profile');
      const path = ctx.config().profilePath;
      writeLoginProfile(path, { server: target.server, token, ...(target.caFile ? { caFile: target.caFile } : {}) });
      const server = serverLabel(target.server);
      ctx.output({ server, profile: path, name: me.name, role: me.role }, () =>
        keyValues([
          ['logged in to', server],
          ['as', `${me.name ?? '-'} (${me.role})`],
          ['profile', path],
        ]),
      );
    });

  program
    .command('logout')
    .description('remove the login profile (the token stays valid on the server: pkim token revoke ends it)')
    .action(async () => {
      const { removeLoginProfile } = await import('../config/login-profile');
      const path = ctx.config().profilePath;
      const removed = removeLoginProfile(path);
      ctx.output({ profile: path, removed }, () =>
        removed ? `logged out: removed ${path}` : `not logged in (no ${path})`,
      );
    });
}
