/** The tabs of the SSH page, in order (`/ssh?tab=hosts` opens one); kept apart so the router stays small. */
export const SSH_TAB_IDS = [
  'cas',
  'certificates',
  'krl',
  'environments',
  'hosts',
  'users',
  'principals',
  'blocks',
  'fleet',
] as const;
export type SshTab = (typeof SSH_TAB_IDS)[number];
export const isSshTab = (v: unknown): v is SshTab => SSH_TAB_IDS.includes(v as SshTab);
