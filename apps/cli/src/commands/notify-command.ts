import type { Command } from 'commander';
import {
  DEFAULT_DAYS_BEFORE,
  NOTIFICATION_EVENTS,
  PkiError,
  parseDuration,
  type NotificationEvent,
} from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { intOption } from '../cli-parsers';
import { offering } from '../option-values';
import { readPasswordFile } from '../export-output';
import { date, notificationDeliveriesTable, notificationRulesTable } from '../format';

const STATUSES = ['pending', 'retrying', 'delivered', 'failed'] as const;
type Status = (typeof STATUSES)[number];

/** `--days 30,7,1`: any whole days; the defaults are offered */
const daysOption = offering(
  DEFAULT_DAYS_BEFORE.map(String),
  (v: string): number[] => {
    const days = v
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean);
    if (days.length === 0 || days.some((d) => !/^\d{1,4}d?$/.test(d)))
      throw new PkiError('input.invalid', `--days takes whole days, comma separated, e.g. 30,7,1 (got '${v}')`);
    return days.map((d) => Number(d.replace(/d$/, '')));
  },
  { list: true },
);

const eventsOption = offering(
  NOTIFICATION_EVENTS,
  (v: string): NotificationEvent[] => {
    const events = v
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const unknown = events.filter((e) => !(NOTIFICATION_EVENTS as readonly string[]).includes(e));
    if (events.length === 0 || unknown.length)
      throw new PkiError(
        'input.invalid',
        `unknown event '${unknown[0] ?? v}' (use ${NOTIFICATION_EVENTS.join(', ')}, comma separated)`,
      );
    return events as NotificationEvent[];
  },
  { list: true },
);

/** `24h`, `7d`, or `0` (the old secret stops at once) → milliseconds */
function overlapOption(v: string): number {
  if (/^\s*0+\s*[smhdw]?\s*$/i.test(v)) return 0;
  return parseDuration(v);
}

const statusOption = offering(STATUSES, (v: string): Status => {
  if (!(STATUSES as readonly string[]).includes(v))
    throw new PkiError('input.invalid', `unknown status '${v}' (use ${STATUSES.join(', ')})`);
  return v as Status;
});

/** `pkim notify rule add|list|remove|enable|disable`, `pkim notify deliveries`, `pkim notify run`. */
export function registerNotifyCommand(program: Command, ctx: CliContext): void {
  const notify = program
    .command('notify')
    .description('expiry notifications and lifecycle webhooks (docs/notifications.md)');
  const rule = notify.command('rule').description('notification rules');

  rule
    .command('add <name>')
    .description('add a rule: expiry warnings (default) or, with --events, lifecycle events')
    .option('--webhook <url>', 'deliver as a signed JSON POST to this URL')
    .option('--email <addresses>', 'deliver by e-mail (comma separated; needs PKIM_SMTP_HOST)')
    .option('--days <list>', 'thresholds in days before expiry (default 30,7,1)', daysOption)
    .option('--events <list>', `lifecycle events: ${NOTIFICATION_EVENTS.join(', ')}`, eventsOption)
    .option('--ca <ca>', 'only certificates of this CA (id or name)')
    .option('--profile <profile>', 'only certificates of this profile')
    .option('--name-pattern <pattern>', 'only certificates whose CN or a SAN matches, e.g. *.example.com')
    .option('--secret-file <file>', 'the webhook HMAC secret (first line); default: generated and printed once')
    .action(
      async (
        name: string,
        o: {
          webhook?: string;
          email?: string;
          days?: number[];
          events?: NotificationEvent[];
          ca?: string;
          profile?: string;
          namePattern?: string;
          secretFile?: string;
        },
      ) => {
        if (!!o.webhook === !!o.email) throw new PkiError('input.invalid', 'give exactly one of --webhook or --email');
        if (o.email && o.secretFile) throw new PkiError('input.invalid', '--secret-file belongs to --webhook');
        const a = await ctx.openAuthority();
        const r = await a.notifications.createRule(
          {
            name,
            trigger: o.events ? 'events' : 'expiry',
            channel: o.webhook ? 'webhook' : 'email',
            target: (o.webhook ?? o.email)!,
            daysBefore: o.days,
            events: o.events,
            ca: o.ca,
            profile: o.profile,
            namePattern: o.namePattern,
            secret: readPasswordFile(o.secretFile),
          },
          ctx.actor,
        );
        const { toNotificationRuleCreatedDto } = await ctx.contract();
        const what = r.trigger === 'expiry' ? `expiry ${r.daysBefore.join('/')} days` : r.events.join(', ');
        ctx.output(toNotificationRuleCreatedDto(r), () =>
          [
            `rule ${r.name} (${r.id}) added: ${what} → ${r.channel} ${r.target}`,
            ...(r.secret && !o.secretFile
              ? [`webhook secret (HMAC-SHA256 key):`, r.secret, 'store it now: it is not shown again.']
              : []),
          ].join('\n'),
        );
      },
    );

  rule
    .command('list')
    .description('list the rules (never their secrets)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.notifications.listRules(ctx.actor);
      const { onePage, toNotificationRuleDto } = await ctx.contract();
      ctx.output(onePage(rows.map(toNotificationRuleDto)), () => notificationRulesTable(rows));
    });

  rule
    .command('rotate-secret <rule>')
    .description('a new HMAC secret for a webhook rule, printed once; the old one still signs during the overlap')
    .option('--overlap <duration>', 'deliveries carry a signature under the old secret too for this long', '24h')
    .option('--secret-file <file>', 'the new secret (first line); default: generated and printed once')
    .action(async (ref: string, o: { overlap: string; secretFile?: string }) => {
      const overlapMs = overlapOption(o.overlap);
      const a = await ctx.openAuthority();
      const r = await a.notifications.rotateSecret(
        ref,
        { secret: readPasswordFile(o.secretFile), overlapMs },
        ctx.actor,
      );
      const { toNotificationSecretRotatedDto } = await ctx.contract();
      ctx.output(toNotificationSecretRotatedDto(r), () =>
        [
          `rule ${r.name}: webhook secret rotated; ` +
            (r.secretOverlapUntil === null
              ? 'the old secret no longer signs'
              : `deliveries are signed under the old secret too until ${date(r.secretOverlapUntil)}`),
          ...(o.secretFile
            ? []
            : ['new webhook secret (HMAC-SHA256 key):', r.secret, 'store it now: it is not shown again.']),
        ].join('\n'),
      );
    });

  rule
    .command('remove <rule>')
    .description('remove a rule (id or name) and its delivery log')
    .action(async (ref: string) => {
      const a = await ctx.openAuthority();
      await a.notifications.removeRule(ref, ctx.actor);
      ctx.output({ rule: ref, removed: true }, () => `rule ${ref} removed`);
    });

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    rule
      .command(`${verb} <rule>`)
      .description(`${verb} a rule (id or name)`)
      .action(async (ref: string) => {
        const a = await ctx.openAuthority();
        const r = await a.notifications.setRuleEnabled(ref, enabled, ctx.actor);
        const { toNotificationRuleDto } = await ctx.contract();
        ctx.output(toNotificationRuleDto(r), () => `rule ${r.name} ${enabled ? 'enabled' : 'disabled'}`);
      });
  }

  notify
    .command('deliveries')
    .description('the delivery log, newest first')
    .option('--rule <rule>', 'only this rule (id or name)')
    .option('--status <status>', STATUSES.join('|'), statusOption)
    .option('--limit <n>', 'page size', intOption, 50)
    .option('--cursor <cursor>', 'continue after this page cursor')
    .action(async (o: { rule?: string; status?: Status; limit: number; cursor?: string }) => {
      const a = await ctx.openAuthority();
      const page = await a.notifications.listDeliveries(o, ctx.actor);
      const { toNotificationDeliveryDto } = await ctx.contract();
      const items = page.items.map(toNotificationDeliveryDto);
      ctx.output({ items, nextCursor: page.nextCursor }, () => notificationDeliveriesTable(items, page.nextCursor));
    });

  notify
    .command('run')
    .description('run the notifications job once now (what `pkim serve` does every PKIM_JOBS_INTERVAL_MS)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const r = await a.notifications.run();
      ctx.output(
        r,
        () => `enqueued ${r.enqueued}, delivered ${r.delivered}, retrying ${r.retrying}, failed ${r.failed}`,
      );
    });
}
