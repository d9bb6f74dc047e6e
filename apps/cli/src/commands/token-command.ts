import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import { PERMISSIONS, ROLE_PERMISSIONS, isValidScope, type UserRole } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { collect, durationOption } from '../cli-parsers';
import { roleOption } from '../role-option';
import { date, tokensTable } from '../format';

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

/** Without --role: the least powerful role that holds every scope (e.g. spiffe:sign → operator). */
export function leastRoleFor(scopes: string[] | undefined): UserRole {
  if (!scopes?.length) throw new PkiError('input.invalid', 'give --role, or --scope to derive the role from');
  const covers = (s: string, p: string) => s === '*' || s === p || (s.endsWith(':*') && p.startsWith(s.slice(0, -1)));
  const needed = PERMISSIONS.filter((p) => scopes.some((s) => covers(s, p)));
  const roles: UserRole[] = ['requester', 'auditor', 'operator', 'admin'];
  return roles.find((r) => needed.every((p) => ROLE_PERMISSIONS[r].includes(p))) ?? 'admin';
}

/** what `token create`'s limiting options allow (undefined: no limit) */
export function tokenResources(o: {
  spiffeAllow?: string[];
  ca?: string[];
  profile?: string[];
  namePattern?: string[];
  maxLifetime?: number;
}) {
  if (!o.spiffeAllow && !o.ca && !o.profile && !o.namePattern && o.maxLifetime === undefined) return undefined;
  return { spiffe: o.spiffeAllow, cas: o.ca, profiles: o.profile, names: o.namePattern, maxLifetimeMs: o.maxLifetime };
}

/** `pkim token create|list|revoke`: API tokens (`Authorization: Bearer pkim_…`). */
export function registerTokenCommand(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('API tokens for the REST/tRPC API');

  token
    .command('create')
    .description('create an API token; the secret is printed once and never stored')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--role <role>', 'admin|operator|auditor|requester (default: the least role holding --scope)', roleOption)
    .option('--scope <scope>', 'narrow further, e.g. certificate:issue (repeatable or comma separated)', scopeOption)
    .option(
      '--spiffe-allow <pattern>',
      'SPIFFE identities the token may request: <service type>/<instance id glob>, e.g. node/worker-* (repeatable)',
      collect,
    )
    .option(
      '--expires <duration>',
      'lifetime, e.g. 30d, 12h, or never (default 90d, config tokenTtl / PKIM_TOKEN_TTL)',
      (v: string) => (v === 'never' ? null : durationOption(v)),
    )
    .option('--ca <ca>', 'limit issuance to this CA (id or name; repeatable)', collect)
    .option('--profile <profile>', 'limit issuance to this profile (repeatable)', collect)
    .option('--name-pattern <pattern>', 'limit names, e.g. *.payments.example.com (repeatable)', collect)
    .option('--max-lifetime <duration>', 'longest certificate lifetime this token may get, e.g. 90d', durationOption)
    .action(
      async (o: {
        name: string;
        role?: UserRole;
        scope?: string[];
        spiffeAllow?: string[];
        expires?: number | null;
        ca?: string[];
        profile?: string[];
        namePattern?: string[];
        maxLifetime?: number;
      }) => {
        const role = o.role ?? leastRoleFor(o.scope);
        const a = await ctx.openAuthority();
        const r = await a.auth.createToken(
          {
            name: o.name,
            role,
            scopes: o.scope,
            resources: tokenResources(o),
            expiresInMs: o.expires,
          },
          ctx.actor,
        );
        const { toTokenCreatedDto } = await ctx.contract();
        ctx.output(
          { ...toTokenCreatedDto(r), role },
          () =>
            `token ${r.id} created (${role}${o.scope?.length ? `, scopes ${o.scope.join(',')}` : ''}` +
            (o.spiffeAllow?.length ? `, SPIFFE ${o.spiffeAllow.join(',')}` : '') +
            `, expires ${r.expiresAt ? date(r.expiresAt) : 'never'})\n` +
            `${r.token}\nstore it now: it is not shown again.`,
        );
      },
    );

  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.auth.listTokens();
      const { toTokenDto } = await ctx.contract();
      ctx.output({ items: rows.map(toTokenDto), nextCursor: null }, () => tokensTable(rows));
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
