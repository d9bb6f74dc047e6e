/**
 * `@pkim/contract/mappers`: every wire mapper of the contract (the authority's records → DTOs) without zod. The
 * CLI prints `--json` through these (apps/cli/src/lazy/contract-runtime.ts): importing the schemas would evaluate
 * every zod schema of their modules first (docs/benchmarks-record.md, "Session 17: dependencies and CLI start-up").
 */
export * from './common-mappers';
export * from './acme-mappers';
export * from './audit-mappers';
export * from './ca-mappers';
export * from './certificate-mappers';
export * from './insights-mappers';
export * from './lifecycle-mappers';
export * from './notification-mappers';
export * from './request-mappers';
export * from './token-mappers';
export * from './user-mappers';
export * from './vault-mappers';
export * from './ssh-views';
