export * from './software-backend';
export * from './software-key-blob-storage';
export { SOFTWARE_REGISTRATION } from './software-registration';
