// The bulk results CSV writer (csv-stringify), loaded by `pkim cert bulk --out results.csv` only: a module of its own
// for the reason given in authority-runtime.ts, and so that no other command loads the bulk CSV code.
export { bulkResultsCsv } from '@pkim/authority';
