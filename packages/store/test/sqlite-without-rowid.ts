// The one place that knows which SQLite tables are WITHOUT ROWID (not a test file itself).
//
// Drizzle's schema cannot declare WITHOUT ROWID: such a table is written by hand in its migration (CREATE TABLE …
// WITHOUT ROWID), and the schema file declares its primary key, which drizzle-kit records in the snapshot. The
// primary key is then the table's only B-tree besides its other indexes, and it stands for the PostgreSQL index
// named here (PostgreSQL tables are heaps: nothing to gain there). schema-parity.test.ts compares that key with the
// index; store-sqlite.test.ts checks a migrated database really has the tables WITHOUT ROWID.
export const SQLITE_WITHOUT_ROWID: Record<string, { primaryKeyStandsFor: string; migration: string }> = {
  // issue #12: 2 B-tree inserts per search term instead of 3 (0025; rebuilt without its foreign key by 0027, with
  // the certificate's creation time in its key by 0032)
  certificate_names: {
    primaryKeyStandsFor: 'certificate_names_name_idx',
    migration: '0032_certificate_names_created_at.sql',
  },
};
