/**
 * What a CA does with a leaf asked to outlive its own certificate (OpenBao's `leaf_not_after_behavior`, a CA setting
 * here): `err` refuses it (the default), `truncate` ends it at the CA's notAfter, `permit` signs it as asked.
 */
export const LEAF_NOT_AFTER_BEHAVIORS = ['err', 'truncate', 'permit'] as const;
export type LeafNotAfterBehavior = (typeof LEAF_NOT_AFTER_BEHAVIORS)[number];
