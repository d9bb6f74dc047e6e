import {
  notificationDeliveriesInputSchema,
  notificationDeliveryPageSchema,
  notificationRuleCreateInputSchema,
  notificationRuleCreatedSchema,
  notificationRuleEnableInputSchema,
  notificationRulePageSchema,
  notificationRuleRefInputSchema,
  notificationRuleSchema,
  notificationSecretRotateInputSchema,
  notificationSecretRotatedSchema,
  okSchema,
  onePage,
  toNotificationDeliveryDto,
  toNotificationRuleCreatedDto,
  toNotificationRuleDto,
  toNotificationSecretRotatedDto,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/** Notification rules and the delivery log (docs/notifications.md). */
export const notificationRouter = router({
  listRules: procedure()
    .output(notificationRulePageSchema)
    .query(async ({ ctx }) =>
      onePage((await ctx.authority.notifications.listRules(ctx.actor)).map(toNotificationRuleDto)),
    ),

  /** a webhook rule's secret is in this answer only */
  createRule: procedure()
    .input(notificationRuleCreateInputSchema)
    .output(notificationRuleCreatedSchema)
    .mutation(async ({ ctx, input }) =>
      toNotificationRuleCreatedDto(await ctx.authority.notifications.createRule(input, ctx.actor)),
    ),

  setRuleEnabled: procedure()
    .input(notificationRuleEnableInputSchema)
    .output(notificationRuleSchema)
    .mutation(async ({ ctx, input }) =>
      toNotificationRuleDto(await ctx.authority.notifications.setRuleEnabled(input.rule, input.enabled, ctx.actor)),
    ),

  /** a new webhook secret, in this answer only; the old one still signs during the overlap */
  rotateSecret: procedure()
    .input(notificationSecretRotateInputSchema)
    .output(notificationSecretRotatedSchema)
    .mutation(async ({ ctx, input }) =>
      toNotificationSecretRotatedDto(
        await ctx.authority.notifications.rotateSecret(
          input.rule,
          { secret: input.secret, overlapMs: input.overlap },
          ctx.actor,
        ),
      ),
    ),

  removeRule: procedure()
    .input(notificationRuleRefInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.notifications.removeRule(input.rule, ctx.actor);
      return { ok: true as const };
    }),

  listDeliveries: procedure()
    .input(notificationDeliveriesInputSchema)
    .output(notificationDeliveryPageSchema)
    .query(async ({ ctx, input }) => {
      const page = await ctx.authority.notifications.listDeliveries(input, ctx.actor);
      return { items: page.items.map(toNotificationDeliveryDto), nextCursor: page.nextCursor };
    }),
});
