import { defineConfig } from 'drizzle-kit';

// `npx drizzle-kit generate --config drizzle-sqlite.config.ts` (from packages/store)
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/sqlite-schema.ts',
  out: './migrations/sqlite',
});
