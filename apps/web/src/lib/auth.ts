import { useSuspenseQuery } from '@tanstack/react-query';
import { trpc, type RouterOutputs } from './trpc';

export type Me = RouterOutputs['user']['me'];
export type Permission = Me['permissions'][number];

/** The signed-in actor and a permission check (the server checks again; this only hides what would fail). */
export function useMe(): { me: Me; can: (p: Permission) => boolean } {
  const { data: me } = useSuspenseQuery(trpc.user.me.queryOptions());
  return { me, can: (p) => me.permissions.includes(p) };
}
