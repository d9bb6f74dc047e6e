export * from './key-backend';
export * from './key-backend-registry';
export * from './key-backends';
export * from './key-encryption-key';
export * from './software';
export * from './pkcs11';
export * from './kmip';
export * from './private-key-pem';
