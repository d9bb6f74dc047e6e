// The database engines every store/authority suite runs on: SQLite (temp file) and a real PostgreSQL.
import { startPostgres } from './postgres';

export interface EngineHandle {
  /** undefined → SQLite in the data dir */
  databaseUrl: string | undefined;
  /** a fresh, empty database for one suite */
  fresh(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<EngineHandle>;
}

export const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    async start() {
      return { databaseUrl: undefined, fresh: async () => undefined, stop: async () => undefined };
    },
  },
  {
    name: 'postgres',
    async start() {
      const pg = await startPostgres();
      return {
        databaseUrl: pg.url,
        fresh: () => pg.createDatabase(),
        stop: () => pg.stop(),
      };
    },
  },
];
