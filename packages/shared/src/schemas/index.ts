export * from './common-schemas';
export * from './ca-schemas';
export * from './certificate-schemas';
export * from './request-schemas';
export * from './audit-schemas';
export * from './user-schemas';
export * from './token-schemas';
export * from './system-schemas';
