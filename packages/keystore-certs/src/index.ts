export * from './keystore-cert-manager';
export * from './keystore-scheduler';
export * from './keystore-store';
export * from './envelope-encryption';
export * from './mtls-probe';
export * from './templates';
export * from './vault-client';
