import type { KeyBackendRegistration } from '../key-backend';

/** Software custody: built by the authority itself (its encrypted key blobs live in the database). */
export const SOFTWARE_REGISTRATION: KeyBackendRegistration<'software'> = {
  name: 'software',
  uriScheme: 'software',
  howToConfigure:
    'it is enabled unless the server was started without a key-encryption key (PKIM_MASTER_KEY or ' +
    '<dataDir>/master.key)',
};
