// File names and keystore aliases from certificate names: a module of their own, without the export encoders, so the
// services that only name files (bulk, batch) do not load PKCS#12/CMS/JKS with the authority (start-up time). The
// names themselves are @pkim/shared's: `pkim cert export` knows the file it will write before it asks.
import { safeBaseName } from '@pkim/shared';

export { safeBaseName };

/** a keystore alias from a common name (JKS lower-cases aliases) */
export function aliasOf(name: string | null | undefined, fallback: string): string {
  return safeBaseName(name, fallback).toLowerCase();
}
