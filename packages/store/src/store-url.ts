import { PkiError } from '@pkim/shared';

export type ParsedStoreUrl =
  | { dialect: 'sqlite'; path: string } // ':memory:' for an in-memory database
  | { dialect: 'postgres'; connectionString: string };

/** `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite:/path`, `sqlite:///path`, a plain path or `:memory:` → SQLite. */
export function parseStoreUrl(url: string): ParsedStoreUrl {
  const trimmed = url.trim();
  if (trimmed === '') throw new PkiError('store.invalid_url', 'The database URL is empty');
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', connectionString: trimmed };
  if (/^sqlite:/i.test(trimmed)) {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path → /abs/path
    if (path === '') throw new PkiError('store.invalid_url', `The SQLite URL '${url}' names no file`);
    return { dialect: 'sqlite', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new PkiError(
      'store.invalid_url',
      `Unsupported database URL scheme in '${trimmed.split('://')[0]}://…': use a SQLite path or postgres://`,
    );
  }
  return { dialect: 'sqlite', path: trimmed };
}
