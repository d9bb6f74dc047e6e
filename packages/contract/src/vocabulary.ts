// the key-types module alone: no node:crypto (ids, audit hash) reaches the browser bundle
import {
  CA_KEY_TYPES,
  KEY_TYPES,
  SSH_CA_KEY_TYPES,
  keyTypeNotAllowedMessage,
  keyUsageClashes,
  keyUsagesNotPossible,
} from '@pkim/shared/key-types';
import { NOTIFICATION_EVENTS } from '@pkim/shared/notification-events';
import { isHttpUrl, serverUrlsUnder } from '@pkim/shared/server-urls';

/**
 * The API's word lists as plain constants (no zod), importable by the browser console without pulling in the
 * schemas: `import { CA_KEY_TYPES } from '@pkim/contract/vocabulary'`. The schemas in common-schemas.ts are built
 * from the same lists.
 */

/** Key types a leaf key may be generated with (`certificate.issue`) and a CSR may carry. */
export const LEAF_KEY_TYPES = KEY_TYPES;
export { CA_KEY_TYPES, SSH_CA_KEY_TYPES };
/** The key usages a key of a type cannot carry: a certificate with one is refused (key_usage_key_type_mismatch). */
export { keyUsageClashes, keyUsagesNotPossible };
/** The server's text of `policy.key_type_not_allowed` (a profile and a key type it does not allow). */
export { keyTypeNotAllowedMessage };
/** Key backends a CA key may live in. */
export const KEY_BACKENDS = ['software', 'pkcs11', 'kmip'] as const;
/** A certificate's status (X.509 and SSH alike), as lists filter by it. */
export const CERTIFICATE_STATUSES = ['active', 'revoked', 'expired'] as const;
/**
 * The certificate list's orders (`certificate.list`'s and the inventory report's `sort`, `pkim cert list --sort`):
 * newest issued first (the default), by expiry, or the revoked certificates only, the latest revocation first.
 */
export const CERTIFICATE_SORTS = ['issued_desc', 'expiry_asc', 'expiry_desc', 'revoked_desc'] as const;
/** Lifecycle events a notification rule with trigger `events` can subscribe to. */
export { NOTIFICATION_EVENTS };
/** A notification delivery's status, as the delivery log filters by it. */
export const NOTIFICATION_STATUSES = ['pending', 'retrying', 'delivered', 'failed'] as const;
/** The CRL, OCSP and CA-issuers URLs the server answers under a base URL (what a CA without its own URLs carries). */
export { serverUrlsUnder };
/** An http(s) URL a certificate may carry, as `ca.setUrls` checks it. */
export { isHttpUrl };
