// The first-boot administrator of a test server, made usable the supported way: its one-time password works only to
// change it (auth.password_change_required, docs/security.md), so a test that signs in as `admin` to do something
// else first changes the password once per server — the admin's own change, what the console asks for at sign-in.
import type { AuthService } from '@pkim/authority';

/** the password every test server's first-boot administrator gets once `changeFirstBootPassword` ran */
export const FIRST_BOOT_NEW_PASSWORD = 'first-boot-changed-2026';

/**
 * Signs in as the first-boot administrator with its one-time password and changes it (which ends that session);
 * returns the new password. Throws when the server made no administrator (not a first boot).
 */
export async function changeFirstBootPassword(
  auth: Pick<AuthService, 'login' | 'changePassword'>,
  bootstrap: { username: string; password: string } | undefined,
  newPassword = FIRST_BOOT_NEW_PASSWORD,
): Promise<string> {
  if (!bootstrap) throw new Error('expected a first boot (a bootstrap administrator and its one-time password)');
  const { actor } = await auth.login(bootstrap.username, bootstrap.password, { ip: '127.0.0.1' });
  await auth.changePassword(actor.id, bootstrap.password, newPassword, actor);
  return newPassword;
}
