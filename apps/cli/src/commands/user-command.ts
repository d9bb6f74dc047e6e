import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import { generatePassword, type Authority, type UserRole } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { readInputFile } from '../cli-parsers';
import { usersTable } from '../format';
import { roleOption } from '../role-option';

async function findUser(a: Authority, ref: string) {
  const user = (await a.auth.listUsers()).find((u) => u.id === ref || u.username === ref);
  if (!user) throw new PkiError('user.not_found', `no user '${ref}'`);
  return user;
}

/** Password from --password-file (or `-` for stdin), else a generated one that is printed once. */
export function passwordFrom(file: string | undefined): { password: string; generated: boolean } {
  if (file) return { password: readInputFile(file, 'password').replace(/\r?\n$/, ''), generated: false };
  return { password: generatePassword(), generated: true };
}

/** `pkim user create|list|set-role|unlock|disable|reset-password`: console accounts. */
export function registerUserCommand(program: Command, ctx: CliContext): void {
  const user = program.command('user').description('console user accounts');

  user
    .command('create <username>')
    .description('create a user (prints a generated password once unless --password-file is given)')
    .requiredOption('--role <role>', 'admin|operator|auditor|requester', roleOption)
    .option('--password-file <file>', 'read the password from a file (- for stdin)')
    .action(async (username: string, o: { role: UserRole; passwordFile?: string }) => {
      const a = await ctx.openAuthority();
      const { password, generated } = passwordFrom(o.passwordFile);
      const u = await a.auth.createUser({ username, password, role: o.role }, ctx.actor);
      ctx.output(
        { ...u, ...(generated ? { password } : {}) },
        () =>
          `user ${u.username} (${u.role}) created: ${u.id}${generated ? `\npassword (shown once): ${password}` : ''}`,
      );
    });

  user
    .command('list')
    .description('list users')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.auth.listUsers();
      const now = a.clock.now();
      const { toUserDto } = await ctx.contract();
      ctx.output({ items: rows.map(toUserDto), nextCursor: null }, () => usersTable(rows, now));
    });

  user
    .command('set-role <user> <role>')
    .description('change the role of a user (id or username)')
    .action(async (ref: string, role: string) => {
      const a = await ctx.openAuthority();
      const u = await findUser(a, ref);
      await a.auth.setUserRole(u.id, roleOption(role), ctx.actor);
      ctx.output({ id: u.id, username: u.username, role }, () => `${u.username} is now ${role}`);
    });

  user
    .command('unlock <user>')
    .description('lift the sign-in blocks of a user after failed logins (every client address)')
    .action(async (ref: string) => {
      const a = await ctx.openAuthority();
      const u = await findUser(a, ref);
      const { cleared } = await a.auth.unlockUser(u.id, ctx.actor);
      ctx.output(
        { id: u.id, username: u.username, cleared },
        () => `${u.username} unlocked (${cleared} failed-login counter${cleared === 1 ? '' : 's'} cleared)`,
      );
    });

  user
    .command('disable <user>')
    .description('disable a user (sessions and tokens stop working); --enable reverses it')
    .option('--enable', 'enable the user again')
    .action(async (ref: string, o: { enable?: boolean }) => {
      const a = await ctx.openAuthority();
      const u = await findUser(a, ref);
      await a.auth.setUserDisabled(u.id, !o.enable, ctx.actor);
      ctx.output(
        { id: u.id, username: u.username, disabled: !o.enable },
        () => `${u.username} ${o.enable ? 'enabled' : 'disabled'}`,
      );
    });

  user
    .command('reset-password <user>')
    .description('set a new password (generated and printed once unless --password-file)')
    .option('--password-file <file>', 'read the new password from a file (- for stdin)')
    .action(async (ref: string, o: { passwordFile?: string }) => {
      const a = await ctx.openAuthority();
      const u = await findUser(a, ref);
      const { password, generated } = passwordFrom(o.passwordFile);
      await a.auth.changePassword(u.id, '', password, ctx.actor);
      ctx.output(
        { id: u.id, username: u.username, ...(generated ? { password } : {}) },
        () => `password of ${u.username} reset${generated ? `\nnew password (shown once): ${password}` : ''}`,
      );
    });
}
