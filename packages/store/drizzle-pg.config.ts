import { defineConfig } from 'drizzle-kit';

// `npx drizzle-kit generate --config drizzle-pg.config.ts` (from packages/store)
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/pg-schema.ts',
  out: './migrations/pg',
});
