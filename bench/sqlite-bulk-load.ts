// Bench helper (not a benchmark itself): loads synthetic certificate rows into a throwaway SQLite database fast.
import Database from 'better-sqlite3';
import { getTableColumns, type Table } from 'drizzle-orm';

/** the tables a bulk load fills; their secondary indexes are dropped first and built once at the end */
const LOADED = ['certificates', 'certificate_names', 'certificate_requests'];

/**
 * A bulk load of the database file at `path` (no store may have it open): the secondary indexes of the loaded tables
 * are dropped and built once at the end (a sort each instead of entry by entry), the journal is off and nothing is
 * synced during the load — a throwaway bench database only; a crash leaves a broken file, never a product database —
 * and `load` inserts with `inserter` (one prepared multi-row INSERT per table, in big transactions). At the end the
 * file is in WAL mode again, as pkim opens it. No ANALYZE: pkim never analyzes a SQLite database, so the bench plans as
 * the product does.
 */
export function sqliteBulkLoad(path: string, load: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    const indexes = db
      .prepare(
        "select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in " +
          `(${LOADED.map(() => '?').join(', ')})`,
      )
      .all(...LOADED) as { name: string; sql: string }[];
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -1000000'); // 1 GB of pages: the index builds sort in memory
    db.pragma('temp_store = MEMORY');
    for (const i of indexes) db.exec(`drop index "${i.name}"`);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    load(db);
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    for (const i of indexes) db.exec(i.sql);
    const c2 = process.cpuUsage(c0);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const cpu = (c: NodeJS.CpuUsage) => s((c.user + c.system) / 1000);
    process.stderr.write(
      `sqlite: rows ${s(t1 - t0)} (CPU ${cpu(c1)}), ${indexes.length} indexes ${s(performance.now() - t1)} ` +
        `(CPU of both ${cpu(c2)})\n`,
    );
    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/**
 * Inserts rows (objects keyed as the Drizzle table's columns: JSON columns as objects) into `table` with one prepared
 * INSERT of `perStatement` rows (the caller holds the transaction); the columns a row leaves out are null.
 */
export function inserter(db: Database.Database, table: Table, tableName: string, perStatement = 500) {
  const columns = Object.entries(getTableColumns(table)) as [string, { name: string; dataType: string }][];
  const one = `(${columns.map(() => '?').join(', ')})`;
  const names = columns.map(([, c]) => `"${c.name}"`).join(', ');
  const sqlFor = (n: number) => `insert into "${tableName}" (${names}) values ${Array(n).fill(one).join(', ')}`;
  const full = db.prepare(sqlFor(perStatement));
  const values = (rows: Record<string, unknown>[]): unknown[] => {
    const out: unknown[] = [];
    for (const r of rows) {
      for (const [key, c] of columns) {
        const v = r[key];
        out.push(v === undefined ? null : c.dataType === 'json' && v !== null ? JSON.stringify(v) : v);
      }
    }
    return out;
  };
  return (rows: Record<string, unknown>[]): void => {
    let i = 0;
    for (; i + perStatement <= rows.length; i += perStatement) full.run(values(rows.slice(i, i + perStatement)));
    if (i < rows.length) db.prepare(sqlFor(rows.length - i)).run(values(rows.slice(i)));
  };
}
