import { getTableColumns, getTableName, type Column, type Table } from 'drizzle-orm';

/**
 * A table's rows read by a raw prepared statement (values as an array, better-sqlite3 `.raw(true)` / node-postgres
 * `rowMode: 'array'`) instead of a Drizzle prepared query: the hot per-request lookups (the caller's token or
 * session, the CA) skip Drizzle's placeholder filling and row mapping (docs/benchmarks.md). The select list is every
 * column of the Drizzle table in schema order, so a column added to the schema is read here too, and each value goes
 * through the column's own driver mapping (JSON text → object, PostgreSQL `bigint` → number) as Drizzle would.
 */
export interface RawRowReader<T> {
  /** `"id", "name", …`: every column, schema order */
  columns: string;
  /** `select <columns> from "<table>" where "<column>" = <param>` (`?` on SQLite, `$1` on PostgreSQL) */
  selectWhereEquals(column: Column, param: string): string;
  /** a raw row (values in `columns` order) → the object Drizzle's `select()` returns */
  fromArray(r: unknown[]): T;
}

/** column types whose driver value IS the JavaScript value (text, 32-bit integers): nothing to map */
const AS_IS = new Set(['SQLiteText', 'SQLiteInteger', 'PgText', 'PgInteger']);

export function rawRowReader<T>(table: Table): RawRowReader<T> {
  const cols = Object.entries(getTableColumns(table));
  const keys = cols.map(([key]) => key);
  const maps = cols.map(([, column]) =>
    AS_IS.has(column.columnType as string) ? undefined : (v: unknown): unknown => column.mapFromDriverValue(v),
  );
  const n = keys.length;
  const columns = cols.map(([, column]) => `"${column.name}"`).join(', ');
  return {
    columns,
    selectWhereEquals: (column, param) =>
      `select ${columns} from "${getTableName(table)}" where "${column.name}" = ${param}`,
    fromArray(r) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const v = r[i];
        const map = maps[i];
        row[keys[i]!] = v === null || map === undefined ? v : map(v);
      }
      return row as T;
    },
  };
}
