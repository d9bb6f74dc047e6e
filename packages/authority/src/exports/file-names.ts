// File names and keystore aliases from certificate names: a module of their own, without the export encoders, so the
// services that only name files (bulk, batch) do not load PKCS#12/CMS/JKS with the authority (start-up time).

/** a file-name-safe base from a common name (or a fallback) */
export function safeBaseName(name: string | null | undefined, fallback: string): string {
  const base = (name ?? '')
    .replace(/^\*\./, 'wildcard.')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 64);
  return base || fallback;
}

/** a keystore alias from a common name (JKS lower-cases aliases) */
export function aliasOf(name: string | null | undefined, fallback: string): string {
  return safeBaseName(name, fallback).toLowerCase();
}
