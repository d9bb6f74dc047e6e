/** OpenSSH certificates (PROTOCOL.certkeys), KRLs (PROTOCOL.krl), keys, signatures and deploy helpers. */
export * from './ssh-wire';
export * from './ssh-public-key';
export * from './ssh-signature';
export * from './ssh-certificate';
export * from './ssh-krl';
export * from './ssh-issue';
export * from './ssh-deploy';
