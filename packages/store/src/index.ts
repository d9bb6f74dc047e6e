export * from './types';
export { IN_PROCESS_GROUP_COMMIT, PG_GROUP_COMMIT_TWO_WRITES } from './group-commit';
export { openStore, migrateStore, restoreStore, pgPoolSize } from './open-store';
export { copyStore, pemFingerprintSha256, type CopyStoreResult } from './copy-store';
export { parseStoreUrl, type ParsedStoreUrl } from './store-url';
export { STORE_TABLES } from './query-db';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination-cursor';
