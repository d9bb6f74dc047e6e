// `--role` of `pkim token create` and `pkim user create|set-role` (a module of its own so that the user command does
// not import the token command, see command-outputs.ts).
import { PkiError } from '@pkim/shared';
import { USER_ROLES, type UserRole } from '@pkim/authority';
import { offering } from './option-values';

export const roleOption = offering(USER_ROLES, (v: string): UserRole => {
  if (!(USER_ROLES as readonly string[]).includes(v))
    throw new PkiError('input.invalid', `unknown role '${v}' (use ${USER_ROLES.join(', ')})`);
  return v as UserRole;
});
