import { PkiError } from '@pkim/shared';
import type { Store } from '@pkim/store';

/** whether a certificate profile of this name is in effect now (built-in, the profiles file's, the API's) */
export type ProfileExists = (name: string) => Promise<boolean>;

/**
 * A certificate filter on a profile name (cert list and its reports, the batches' filter) that can match nothing
 * because the name is a typo is refused with `profile.not_found` rather than answered with nothing: when no profile
 * of that name is in effect AND no certificate (of the CAs `caIds` limits the reader to) carries the name. A profile
 * deleted since still filters its certificates — they keep its name. Cheap when the name is a profile's (no read).
 * A notification rule's profile is asked the same (`what`: 'the rule'; notification-service.ts).
 */
export async function checkProfileFilter(
  store: Store,
  profileExists: ProfileExists | undefined,
  name: string | undefined,
  caIds: string[] | undefined,
  what = 'the filter',
): Promise<void> {
  if (name === undefined || !profileExists || (await profileExists(name))) return;
  const carried = await store.certificates.list({ profile: name, caIds, limit: 1 });
  if (carried.items.length) return;
  throw new PkiError(
    'profile.not_found',
    `no certificate profile '${name}', and no certificate carries that name: ${what} would match nothing`,
    { details: { name } },
  );
}
