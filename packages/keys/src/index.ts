export * from './key-backend';
export * from './key-backends';
export * from './key-encryption-key';
export * from './software-backend';
export * from './software-key-blob-storage';
export * from './pkcs11-backend';
export * from './kmip';
