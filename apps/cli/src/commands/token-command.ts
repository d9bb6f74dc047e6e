import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import { USER_ROLES, isValidScope, type UserRole } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { collect, durationOption } from '../cli-parsers';
import { date, table } from '../format';

export function roleOption(v: string): UserRole {
  if (!(USER_ROLES as readonly string[]).includes(v))
    throw new PkiError('input.invalid', `unknown role '${v}' (use ${USER_ROLES.join(', ')})`);
  return v as UserRole;
}

function scopeOption(v: string, previous: string[] = []): string[] {
  for (const s of v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!isValidScope(s))
      throw new PkiError('input.invalid', `unknown scope '${s}' (e.g. certificate:issue, certificate:*, *)`);
    previous = collect(s, previous);
  }
  return previous;
}

/** `pkim token create|list|revoke`: API tokens (`Authorization: Bearer pkim_…`). */
export function registerTokenCommand(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('API tokens for the REST/tRPC API');

  token
    .command('create')
    .description('create an API token; the secret is printed once and never stored')
    .requiredOption('--name <name>', 'what the token is for')
    .requiredOption('--role <role>', 'admin|operator|auditor|requester', roleOption)
    .option('--scope <scope>', 'narrow further, e.g. certificate:issue (repeatable or comma separated)', scopeOption)
    .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: no expiry)', durationOption)
    .action(async (o: { name: string; role: UserRole; scope?: string[]; expires?: number }) => {
      const a = await ctx.openAuthority();
      const r = await a.auth.createToken(
        { name: o.name, role: o.role, scopes: o.scope, expiresInMs: o.expires },
        ctx.actor,
      );
      ctx.output(
        { id: r.id, token: r.token, expiresAt: r.expiresAt },
        () =>
          `token ${r.id} created (${o.role}${o.scope?.length ? `, scopes ${o.scope.join(',')}` : ''}, ` +
          `expires ${r.expiresAt ? date(r.expiresAt) : 'never'})\n` +
          `${r.token}\nstore it now: it is not shown again.`,
      );
    });

  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.auth.listTokens();
      ctx.output(rows, () =>
        table(
          ['ID', 'NAME', 'ROLE', 'SCOPES', 'EXPIRES', 'LAST USED', 'REVOKED'],
          rows.map((t) => [
            t.id,
            t.name,
            t.role,
            t.scopes.join(',') || '*',
            t.expiresAt ? date(t.expiresAt) : 'never',
            date(t.lastUsedAt),
            date(t.revokedAt),
          ]),
        ),
      );
    });

  token
    .command('revoke <id>')
    .description('revoke an API token (effective immediately)')
    .action(async (id: string) => {
      const a = await ctx.openAuthority();
      await a.auth.revokeToken(id, ctx.actor);
      ctx.output({ id, revoked: true }, () => `token ${id} revoked`);
    });
}
