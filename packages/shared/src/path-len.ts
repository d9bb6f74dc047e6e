import { PkiError } from './errors';

/**
 * The largest basicConstraints pathLenConstraint a CA or a CA profile may set here: one limit for the CLI, the API
 * and custom profiles. 32 levels of CAs below a CA is far past any real hierarchy; the limit only catches typos.
 */
export const MAX_PATH_LEN = 32;

/** The one message of a path length out of range, in every channel */
export const PATH_LEN_MESSAGE = `pathLen (path length) must be a whole number from 0 to ${MAX_PATH_LEN}`;

/** input.invalid unless `pathLen` is absent (no limit) or a whole number from 0 to MAX_PATH_LEN */
export function checkPathLen(pathLen: number | null | undefined): void {
  if (pathLen === undefined || pathLen === null) return;
  if (!Number.isInteger(pathLen) || pathLen < 0 || pathLen > MAX_PATH_LEN)
    throw new PkiError('input.invalid', PATH_LEN_MESSAGE, { details: { pathLen } });
}
