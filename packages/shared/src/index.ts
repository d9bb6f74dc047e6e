export * from './errors';
export * from './ids';
export * from './key-types';
export * from './revocation';
export * from './audit-hash';
export * from './duration';
export * from './clock';
export * from './export-formats';
