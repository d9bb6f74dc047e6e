export { createPkcs11Backend, type Pkcs11BackendOptions } from './pkcs11-backend';
export { ecdsaRawToDer } from './pkcs11-mechanisms';
export * from './pkcs11-config';
export * from './pkcs11-uri';
export { toPkcs11PkiError } from './pkcs11-errors';
export { PKCS11_REGISTRATION } from './pkcs11-registration';
