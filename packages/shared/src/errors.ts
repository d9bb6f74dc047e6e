/**
 * The one error type of PKI Manager. Every layer throws PkiError with a stable code from the
 * catalog below; each transport maps it once (tRPC code, HTTP status, Vault errors, CLI exit code).
 */
export type ErrorKind =
  | 'invalid_input' // 400: the caller sent something malformed
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409: state does not allow it (already revoked, ...)
  | 'policy' // 422: well-formed but refused by profile/policy/lint
  | 'rate_limited' // 429
  | 'unavailable' // 503: a dependency (key backend, database) is down; may be retried
  | 'timeout' // 504
  | 'internal'; // 500

export interface PkiErrorOptions {
  kind?: ErrorKind;
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class PkiError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: PkiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
    this.kind = options.kind ?? ERROR_CATALOG[code]?.kind ?? kindFromCode(code);
    this.retryable = options.retryable ?? (this.kind === 'unavailable' || this.kind === 'timeout');
    this.details = options.details ?? {};
  }

  toJSON(): { code: string; message: string; kind: ErrorKind; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, kind: this.kind, details: this.details };
  }
}

export function isPkiError(e: unknown): e is PkiError {
  return e instanceof PkiError;
}

/**
 * Wraps any thrown value into a PkiError (unknown errors become `internal.error`). A database error wrapped by
 * Drizzle is unwrapped first: Drizzle's message holds the statement and, on PostgreSQL, its parameters ("Failed
 * query: … params: …"), which may be row data (ids, names, token hashes) and must not reach a log line, an audit row
 * or the CLI's one-line reason; the database's own error (its message, code and constraint) says what went wrong.
 */
export function toPkiError(e: unknown): PkiError {
  if (e instanceof PkiError) return e;
  const inner = unwrapQueryError(e);
  if (inner instanceof PkiError) return inner;
  const message = inner instanceof Error ? inner.message : String(inner);
  return new PkiError('internal.error', message, { kind: 'internal', cause: inner });
}

/**
 * Drizzle's wrappers of a failed statement — DrizzleQueryError ("Failed query: <sql>\nparams: <values>", PostgreSQL)
 * and DrizzleError ("Failed to run the query '<sql>'", SQLite) — replaced by the error they wrap; without one (a
 * wrapper around nothing) a message that names no statement.
 */
export function unwrapQueryError(e: unknown): unknown {
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const wrapper =
      e.message.startsWith('Failed query: ') || (e.name === 'DrizzleError' && e.message.startsWith('Failed to run'));
    if (!wrapper) return e;
    if (e.cause === undefined) return new Error('the database refused a statement');
    e = e.cause;
  }
  return e;
}

function kindFromCode(code: string): ErrorKind {
  const prefix = code.split('.')[0];
  if (prefix === 'lint' || prefix === 'policy') return 'policy';
  return 'internal';
}

export const HTTP_STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  policy: 422,
  rate_limited: 429,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

/**
 * The catalog of stable error codes. `docs/errors.md` is generated from / checked against this
 * list by a test. Codes with prefix `lint.` and `policy.` default to kind `policy`.
 */
export const ERROR_CATALOG: Record<string, { kind: ErrorKind; description: string }> = {
  'input.invalid': { kind: 'invalid_input', description: 'The input failed validation.' },
  'config.invalid': {
    kind: 'invalid_input',
    description:
      'The configuration (config file, environment variables or flags) is invalid: the message names each bad ' +
      'setting and where it came from. Nothing was started or changed.',
  },
  'data_dir.not_initialized': {
    kind: 'not_found',
    description:
      'The data directory was never initialised (no database in it): run `pkim init` first, or check --data-dir, ' +
      'PKIM_DATA_DIR and the config file. Nothing was created.',
  },
  'input.invalid_json': { kind: 'invalid_input', description: 'The request body is not valid JSON.' },
  'input.unsupported_media_type': { kind: 'invalid_input', description: 'The content type is not accepted here.' },
  'input.too_large': { kind: 'invalid_input', description: 'The request body exceeds the size limit.' },
  'input.uri_too_long': { kind: 'invalid_input', description: 'The URL path exceeds the length limit (HTTP 414).' },
  'dn.invalid': { kind: 'invalid_input', description: 'A distinguished name could not be parsed or is invalid.' },
  'csr.invalid': { kind: 'invalid_input', description: 'The CSR is not valid DER/PEM PKCS#10.' },
  'csr.invalid_signature': {
    kind: 'invalid_input',
    description: 'The CSR signature does not match its public key (no proof of possession).',
  },
  'csr.weak_key': {
    kind: 'policy',
    description: 'The CSR key is too weak or of an unsupported type (RSA < 2048, unknown curve).',
  },
  'csr.unsupported_key': { kind: 'policy', description: 'The key algorithm is not supported.' },
  'certificate.invalid': { kind: 'invalid_input', description: 'A certificate could not be parsed.' },
  'certificate.not_found': { kind: 'not_found', description: 'No such certificate.' },
  'certificate.ambiguous_reference': {
    kind: 'invalid_input',
    description:
      'A serial or fingerprint prefix (or a serial that several CAs issued) matches more than one certificate; ' +
      'the error lists the candidates (`details.candidates`): give more characters or the certificate id.',
  },
  'export.password_required': {
    kind: 'invalid_input',
    description: 'This export format (PKCS#12, JKS, encrypted key, ZIP with a key) needs a password.',
  },
  'export.key_not_held': {
    kind: 'conflict',
    description: 'The server does not hold the private key of this certificate (only keys it generated and kept).',
  },
  'renewal.key_reuse_not_allowed': {
    kind: 'policy',
    description: 'The profile does not allow a renewal to reuse the old key.',
  },
  'bulk.invalid_csv': { kind: 'invalid_input', description: 'The bulk CSV could not be read (header, quoting).' },
  'bulk.rows_failed': {
    kind: 'policy',
    description:
      'Rows of a batch failed (the results name each): per-row, the other rows were issued; all-or-nothing and ' +
      'dry run, nothing was.',
  },
  'bulk.too_many_rows': { kind: 'invalid_input', description: 'The batch has more rows than allowed.' },
  'bulk.busy': { kind: 'rate_limited', description: 'Too many bulk jobs are running (per user, or on this server).' },
  'bulk.job_not_found': {
    kind: 'not_found',
    description:
      'No such bulk job for this user (or it has no such file, or it ended longer ago than PKIM_BULK_JOB_RETENTION).',
  },
  'bulk.interrupted': {
    kind: 'unavailable',
    description:
      'The bulk job stopped before its end: the server instance running it stopped (restart, crash). What it ' +
      'issued or revoked before is in the certificates and the audit trail; start the rest again.',
  },
  'certificate.already_revoked': { kind: 'conflict', description: 'The certificate is already revoked.' },
  'certificate.not_deletable': {
    kind: 'conflict',
    description: 'Only expired certificates can be deleted (a revoked one stays on its CRL until it expires).',
  },
  'certificate.verify_failed': {
    kind: 'internal',
    description: 'The signed certificate did not verify against the CA public key.',
  },
  'ca.not_found': {
    kind: 'not_found',
    description:
      "No such certificate authority. When the reference is a CA's subject CN, or its name but for case, spaces, " +
      "'-' or '_', the message names the CA to use (did you mean …?) to a caller that may list that CA.",
  },
  'ca.not_active': {
    kind: 'conflict',
    description: 'The CA is disabled, expired, revoked or awaiting its certificate.',
  },
  'ca.already_revoked': { kind: 'conflict', description: 'The CA is already revoked.' },
  'ca.not_deletable': { kind: 'conflict', description: 'Only revoked or expired CAs can be deleted.' },
  'ca.externally_signed': {
    kind: 'conflict',
    description: 'The CA was signed by an outside CA: its new certificate comes from that CA (a new CSR).',
  },
  'ca.name_taken': { kind: 'conflict', description: 'A CA with this name already exists.' },
  'ca.certificate_mismatch': {
    kind: 'invalid_input',
    description:
      "The imported certificate does not match the CA key (or the pending CA's CSR subject), is not a CA " +
      'certificate (CA:TRUE, keyCertSign) or has expired.',
  },
  'ca.issuer_unverified': {
    kind: 'invalid_input',
    description:
      "The imported certificate's signature could not be verified: its issuer is not a CA here and no issuer " +
      'certificate was given, the signature does not verify, or it is self-issued.',
  },
  'profile.not_found': { kind: 'not_found', description: 'No such certificate profile.' },
  'profile.invalid': { kind: 'invalid_input', description: 'A custom profile definition is invalid.' },
  'profile.exists': {
    kind: 'conflict',
    description: 'A profile of that name exists already (built-in, from the profiles file, or made through the API).',
  },
  'profile.read_only': {
    kind: 'conflict',
    description: 'A built-in profile, or one from the profiles file, cannot be changed or deleted through the API.',
  },
  'profile.in_use': {
    kind: 'conflict',
    description: 'The profile is used (an ACME directory, a token or user limit, a pending request): not deleted.',
  },
  'request.not_found': { kind: 'not_found', description: 'No such certificate request.' },
  'request.not_pending': { kind: 'conflict', description: 'The certificate request is no longer pending.' },
  'request.not_issued': {
    kind: 'conflict',
    description: 'The certificate request has no certificate (it is pending or was rejected).',
  },
  'revocation.invalid_reason': { kind: 'invalid_input', description: 'Unknown revocation reason.' },
  'crl.issuer_key_unusable': {
    kind: 'conflict',
    description:
      "A CRL of given entries (the Vault API's sign-revocation-list, resign-crls) was asked of a CA whose key is " +
      "missing from its key backend or is not the key of the CA's certificate (HTTP 400 on /v1/): nothing signed.",
  },
  'crl.base_pending': {
    kind: 'unavailable',
    description:
      'Delta CRLs are on and a new base (complete CRL) of the CA is being signed — by this process or another on ' +
      'the database — for longer than a request waits (10 s by default), and no earlier CRL of the CA is still ' +
      "within its nextUpdate to answer meanwhile: retry after `Retry-After` seconds (the claim's remaining " +
      'lifetime, at least 1; details.retryAfterSeconds) (docs/crl.md).',
  },
  'crl.delta_pending': {
    kind: 'unavailable',
    description:
      "Delta CRLs are on and the CA's next delta CRL is being signed — by this process or another on the database " +
      '(one delta per database) — for longer than a request waits (10 s by default), and no earlier delta of the ' +
      'current base is still within its nextUpdate to answer meanwhile: retry after `Retry-After` seconds (the ' +
      "claim's remaining lifetime, at least 1; details.retryAfterSeconds) (docs/crl.md).",
  },
  'crl.base_claim_lost': {
    kind: 'conflict',
    description:
      "Recorded (audit `crl.generate_failed`), never answered: this process's claim to sign a delta CRL base (or a " +
      'delta CRL) was taken over by another process while it signed (it stalled past the claim lifetime); what it ' +
      "signed was not stored and it serves the new holder's.",
  },
  'policy.profile_not_allowed': {
    kind: 'policy',
    description: 'This profile cannot be used for this operation (e.g. a CA profile for a leaf).',
  },
  'certificate.not_active': { kind: 'conflict', description: 'The certificate is not active.' },
  'policy.key_type_not_allowed': { kind: 'policy', description: 'The profile does not allow this key type.' },
  'policy.too_many_sans': {
    kind: 'policy',
    description: "More subject alternative names than the profile's maxSans (default 100); duplicates count.",
  },
  'policy.sans_too_large': {
    kind: 'policy',
    description: "The subject alternative names together exceed the profile's maxSanBytes (default 16384 bytes).",
  },
  'input.forbidden_character': {
    kind: 'invalid_input',
    description:
      'A DN attribute or subject alternative name contains a control, bidirectional-control (e.g. U+202E) or ' +
      'other invisible formatting character; details name the field and the code point.',
  },
  'policy.san_not_allowed': {
    kind: 'policy',
    description: 'A subject alternative name is not allowed by the profile.',
  },
  'policy.san_required': { kind: 'policy', description: 'The profile requires at least one subject alternative name.' },
  'policy.lifetime_exceeded': { kind: 'policy', description: 'The requested lifetime exceeds the profile maximum.' },
  'policy.name_not_allowed': { kind: 'policy', description: 'A name is outside the issuer name constraints.' },
  'lint.lifetime_beyond_issuer': { kind: 'policy', description: 'The certificate would outlive its issuer.' },
  'lint.policy_invalid': {
    kind: 'policy',
    description:
      'An extended key usage OID or certificate policy is invalid: not a dotted OID, given twice, anyPolicy in a ' +
      'leaf, a CPS that is not an http(s) URI, or a user notice over 200 characters.',
  },
  'lint.tls_without_san': { kind: 'policy', description: 'A TLS certificate must carry a subject alternative name.' },
  'lint.ca_flag_on_leaf': { kind: 'policy', description: 'A leaf profile must not set the CA flag.' },
  'lint.key_usage_key_type_mismatch': { kind: 'policy', description: 'Key usage is inconsistent with the key type.' },
  'lint.path_length_exceeded': { kind: 'policy', description: "The issuer's path length constraint forbids this CA." },
  'lint.name_constraints_violation': {
    kind: 'policy',
    description: "A name is outside the issuer's name constraints.",
  },
  'lint.issuer_not_ca': { kind: 'policy', description: 'The issuer is not a CA or lacks keyCertSign.' },
  'lint.invalid_validity': {
    kind: 'policy',
    description: 'notBefore is after notAfter, or the issuer is not yet/no longer valid.',
  },
  'lint.invalid_san': { kind: 'policy', description: 'A subject alternative name is syntactically invalid.' },
  'lint.empty_subject': { kind: 'policy', description: 'A certificate without SAN needs a non-empty subject.' },
  'lint.serial_invalid': {
    kind: 'policy',
    description: 'The serial number is not a positive integer of at most 20 bytes.',
  },
  'audit.chain_broken': { kind: 'conflict', description: 'The audit hash chain does not verify.' },
  'kms.unavailable': { kind: 'unavailable', description: 'The key backend cannot be reached.' },
  'kms.master_key_missing': {
    kind: 'not_found',
    description:
      'The database holds software keys but their master key (master.key or PKIM_MASTER_KEY) is not here, as after ' +
      '`pkim restore` or on another instance of a shared database: put it back. No new one is made (it would open ' +
      'none of them).',
  },
  'kms.master_key_empty': {
    kind: 'invalid_input',
    description:
      'PKIM_MASTER_KEY (or the config file\'s masterKey) is set but empty, as `export PKIM_MASTER_KEY="$(cat FILE)"` ' +
      'leaves it when FILE is missing: refused at start-up (`pkim serve`, every local command), not read as unset — ' +
      'which would seal new CA keys under a master.key made for the occasion. Set it to the key or unset it; nothing ' +
      'was started or created.',
  },
  'kms.timeout': { kind: 'timeout', description: 'The key backend did not answer in time.' },
  'kms.key_not_found': {
    kind: 'not_found',
    description: 'The key does not exist in the backend (unknown or destroyed).',
  },
  'kms.auth_failed': {
    kind: 'forbidden',
    description:
      'The key backend refused our credentials (wrong PIN, API key, client certificate), or a software key does not ' +
      'open under this master key (PKIM_MASTER_KEY or master.key differs from the one it was sealed with).',
  },
  'kms.operation_failed': { kind: 'internal', description: 'The key backend refused the operation.' },
  'kms.unsupported': {
    kind: 'invalid_input',
    description: 'The key backend does not support this key type or operation.',
  },
  'kms.config_invalid': { kind: 'invalid_input', description: 'The key backend configuration is incomplete or wrong.' },
  'key.invalid': {
    kind: 'invalid_input',
    description:
      "A private key given (an existing CA's) could not be read: not one PEM PKCS#8/PKCS#1/SEC1 key, encrypted " +
      'without or with a wrong password, or of a key type PKI Manager does not sign with. Nothing was stored.',
  },
  'store.write_failed': { kind: 'internal', description: 'The database write failed; nothing was committed.' },
  'store.setting_exists': {
    kind: 'conflict',
    description: 'A setting to be made exists already (another request made it first); nothing was committed.',
  },
  'store.setting_not_found': {
    kind: 'not_found',
    description: 'A setting to be changed or removed is not there (another request removed it); nothing was committed.',
  },
  'store.unavailable': { kind: 'unavailable', description: 'The database cannot be reached.' },
  'store.invalid_url': {
    kind: 'invalid_input',
    description: 'The database URL is neither a SQLite path nor a postgres:// URL.',
  },
  'store.migration_failed': { kind: 'internal', description: 'The database schema migrations could not be applied.' },
  'store.backup_failed': { kind: 'internal', description: 'The database backup could not be written.' },
  'store.restore_failed': { kind: 'internal', description: 'The database could not be restored from the backup.' },
  'output.key_file_exists': {
    kind: 'conflict',
    description:
      'A file the command would write already exists and holds (or would hold) a private key — `--out-key`, ' +
      '`--keys-zip`, a key/p12/jks/zip export, or a public file over a PEM private key: nothing was issued, exported ' +
      'or audited (--force replaces it, e.g. a renewal in place).',
  },
  'store.backup_file_exists': {
    kind: 'conflict',
    description: 'The file `pkim backup --out` names already exists (--force overwrites it).',
  },
  'store.in_use': {
    kind: 'conflict',
    description:
      '`pkim restore` found the database open in another process (a running `pkim serve`, another command): ' +
      'a server left running keeps serving what it had — on SQLite the replaced file, losing what it writes; on ' +
      'PostgreSQL the rows it remembers. Stop every process it names (PostgreSQL: `pkim <host> pid <pid>`) first; ' +
      'nothing was changed.',
  },
  'store.target_not_empty': {
    kind: 'conflict',
    description: 'The target database of a copy (or a restore without --force) already holds data.',
  },
  'store.copy_verification_failed': {
    kind: 'conflict',
    description:
      'After a database copy the target does not match the source (row counts, certificate fingerprints or ' +
      'audit chain head).',
  },
  'certificate.issuer_unverified': {
    kind: 'invalid_input',
    description: "A presented certificate's signature verifies under the key of none of the CAs it may be of.",
  },
  'certificate.is_ca_certificate': {
    kind: 'invalid_input',
    description:
      "The certificate is a CA's own certificate, current or earlier (a renewal's, a rotated root's cross " +
      'certificate): revoke the CA (`pkim ca revoke`; a cross certificate: `pkim ca revoke-cross`), not a certificate.',
  },
  'certificate.serial_taken': {
    kind: 'conflict',
    description: 'The issuing CA already has a certificate with this serial number.',
  },
  'auth.unauthenticated': { kind: 'unauthenticated', description: 'No valid session or token.' },
  'auth.invalid_credentials': { kind: 'unauthenticated', description: 'Wrong user name or password.' },
  'auth.throttled': {
    kind: 'rate_limited',
    description:
      'Too many failed logins for this user name from this client address (or from this address); retry after ' +
      'the delay in Retry-After, which doubles with each further failure.',
  },
  'auth.forbidden': { kind: 'forbidden', description: 'The role or token scope does not allow this.' },
  'auth.password_change_required': {
    kind: 'forbidden',
    description:
      'This session belongs to a user who must change their password first (the first-boot administrator, or a ' +
      'user whose password an administrator reset): it may only read who it is (user.me), change its own ' +
      'password (PUT /api/v1/users/me/password, the console asks at sign-in) and sign out. The change ends the ' +
      'session: sign in again with the new password. API tokens are not affected.',
  },
  'provisioner.ca_not_allowed': {
    kind: 'forbidden',
    description: 'The provisioner (user, token or channel) may not use this CA.',
  },
  'provisioner.profile_not_allowed': {
    kind: 'forbidden',
    description: 'The provisioner (user, token or channel) may not use this profile.',
  },
  'provisioner.name_not_allowed': {
    kind: 'forbidden',
    description: 'A requested name does not match the name patterns the provisioner may issue.',
  },
  'provisioner.lifetime_exceeded': {
    kind: 'forbidden',
    description: "The requested lifetime exceeds the provisioner's maximum.",
  },
  'provisioner.key_type_not_allowed': {
    kind: 'forbidden',
    description: 'The provisioner may not certify this key type.',
  },
  'provisioner.ca_certificates_not_allowed': {
    kind: 'forbidden',
    description: 'The provisioner may not create CA certificates.',
  },
  'auth.csrf': { kind: 'forbidden', description: 'Missing or wrong CSRF token.' },
  'auth.oidc_not_configured': {
    kind: 'not_found',
    description: 'OIDC sign-in is not configured (set PKIM_OIDC_ISSUER and PKIM_OIDC_CLIENT_ID, docs/oidc.md).',
  },
  'auth.oidc_failed': {
    kind: 'unauthenticated',
    description:
      'The OIDC sign-in did not complete: the provider answered with an error, the state or PKCE check failed, ' +
      'the sign-in took too long, or the token endpoint refused the code.',
  },
  'auth.oidc_invalid_token': {
    kind: 'unauthenticated',
    description:
      "The provider's ID token was refused: bad signature, wrong issuer or audience, expired, not yet valid or " +
      'a nonce that does not match.',
  },
  'auth.oidc_no_role': {
    kind: 'forbidden',
    description:
      'The OIDC identity carries no claim value mapped to a role (PKIM_OIDC_ROLE_MAP) and no default role is set.',
  },
  'auth.oidc_provider_unavailable': {
    kind: 'unavailable',
    description: 'The OIDC provider could not be reached (discovery, token endpoint or keys).',
  },
  'notification.rule_not_found': { kind: 'not_found', description: 'No such notification rule.' },
  'notification.rule_name_taken': { kind: 'conflict', description: 'A notification rule with this name exists.' },
  'notification.smtp_not_configured': {
    kind: 'invalid_input',
    description: 'An e-mail rule needs an SMTP server (PKIM_SMTP_HOST, docs/notifications.md).',
  },
  'user.not_found': { kind: 'not_found', description: 'No such user.' },
  'user.name_taken': { kind: 'conflict', description: 'A user with this name already exists.' },
  'user.weak_password': {
    kind: 'invalid_input',
    description: 'The password does not meet the password policy (at least 12 characters).',
  },
  'user.last_admin': { kind: 'conflict', description: 'The last active admin cannot be demoted or disabled.' },
  'token.not_found': { kind: 'not_found', description: 'No such API token.' },
  'token.already_revoked': { kind: 'conflict', description: 'The API token is already revoked.' },
  'token.name_taken': {
    kind: 'conflict',
    description: 'This user already has an active API token with this name (token names are unique per user).',
  },
  'token.scope_not_grantable': {
    kind: 'forbidden',
    description: "A requested token scope is not allowed to the token's role, so the token could never use it.",
  },
  'route.not_found': { kind: 'not_found', description: 'No such HTTP route.' },
  'rate.limited': { kind: 'rate_limited', description: 'Too many requests.' },
  'idempotency.invalid_key': {
    kind: 'invalid_input',
    description:
      'The Idempotency-Key header is not a key: 1 to 255 printable ASCII characters, as a structured-field string ' +
      '("…") or bare.',
  },
  'idempotency.key_reused': {
    kind: 'policy',
    description:
      'This Idempotency-Key was used by the same caller for a different request (method, path or body) within ' +
      'PKIM_IDEMPOTENCY_TTL: use a new key for a new request.',
  },
  'idempotency.in_progress': {
    kind: 'conflict',
    description:
      'The first request with this Idempotency-Key is still being answered: retry in a moment to get its answer.',
  },
  'idempotency.answer_lost': {
    kind: 'conflict',
    description:
      'The first request with this Idempotency-Key was carried out (its audit event names the key), but its server ' +
      'stopped before it kept the answer: read the result (the event names it) instead of making it again.',
  },
  'idempotency.not_supported': {
    kind: 'invalid_input',
    description:
      'This route does not take an Idempotency-Key: its answer carries a private key or a secret that the server ' +
      'does not keep to replay (docs/api-contract.md).',
  },
  'ocsp.malformed_request': { kind: 'invalid_input', description: 'The OCSP request could not be decoded.' },
  'ssh.invalid_public_key': {
    kind: 'invalid_input',
    description: 'The SSH public key is malformed (expected an OpenSSH line such as `ssh-ed25519 AAAA… comment`).',
  },
  'ssh.unsupported_key': {
    kind: 'invalid_input',
    description: 'The SSH key type is not supported (DSA, unknown types).',
  },
  'ssh.weak_key': { kind: 'policy', description: 'The SSH key is too weak (RSA below 2048 bits).' },
  'ssh.invalid_request': {
    kind: 'invalid_input',
    description: 'The SSH certificate request is invalid (principals, validity, critical options, extensions).',
  },
  'ssh.invalid_certificate': { kind: 'invalid_input', description: 'An OpenSSH certificate could not be parsed.' },
  'ssh.signature_invalid': { kind: 'internal', description: 'The key backend returned a malformed SSH signature.' },
  'ssh.verify_failed': {
    kind: 'internal',
    description: 'The signed SSH certificate did not verify against the SSH CA public key.',
  },
  'ssh.invalid_krl': { kind: 'invalid_input', description: 'An OpenSSH key revocation list could not be parsed.' },
  'acme.not_enabled': {
    kind: 'not_found',
    description: 'ACME is not enabled for this CA (`pkim acme enable --ca <ca>`), or the CA does not exist.',
  },
  'acme.not_found': { kind: 'not_found', description: 'No such ACME account, order, authorization or certificate.' },
  'acme.malformed': { kind: 'invalid_input', description: 'ACME: the request (JWS or payload) is malformed.' },
  'acme.bad_nonce': {
    kind: 'invalid_input',
    description: 'ACME: the JWS nonce is missing, unknown, expired or was already used (retry with a fresh one).',
  },
  'acme.bad_signature_algorithm': {
    kind: 'invalid_input',
    description: 'ACME: the JWS algorithm is not supported (RS256, PS256, ES256, ES384, ES512, EdDSA).',
  },
  'acme.bad_public_key': { kind: 'invalid_input', description: 'ACME: the account key is unsupported or too weak.' },
  'acme.unauthorized': {
    kind: 'forbidden',
    description: 'ACME: the account may not do this (wrong URL or key, deactivated account, not its resource).',
  },
  'acme.account_does_not_exist': {
    kind: 'invalid_input',
    description: 'ACME: no account exists for this key (`onlyReturnExisting`, or an unknown `kid`).',
  },
  'acme.external_account_required': {
    kind: 'forbidden',
    description: 'ACME: this directory requires an external account binding (EAB key from `pkim acme eab create`).',
  },
  'acme.invalid_contact': { kind: 'invalid_input', description: 'ACME: a contact URL is invalid (mailto: only).' },
  'acme.rejected_identifier': {
    kind: 'policy',
    description: "ACME: an identifier is outside the directory's policy (`--allow-dns`, `--allow-ip`).",
  },
  'acme.unsupported_identifier': {
    kind: 'invalid_input',
    description: 'ACME: the identifier type or syntax is not supported (dns names and IP addresses).',
  },
  'acme.order_not_ready': {
    kind: 'forbidden',
    description: 'ACME: the order is not ready to be finalized (authorizations pending, or already finalized).',
  },
  'acme.bad_csr': {
    kind: 'invalid_input',
    description: 'ACME: the CSR does not match the order (names), is invalid or has an unacceptable key.',
  },
  'acme.bad_revocation_reason': {
    kind: 'invalid_input',
    description: 'ACME: the revocation reason code is not accepted (accepted: 0, 1, 3, 4, 5 and 9).',
  },
  'acme.already_revoked': { kind: 'invalid_input', description: 'ACME: the certificate is already revoked.' },
  'acme.rate_limited': { kind: 'rate_limited', description: 'ACME: the account exceeded its order rate limit.' },
  'acme.conflict': { kind: 'conflict', description: 'ACME: the new account key is already used by another account.' },
  'acme.incorrect_response': {
    kind: 'forbidden',
    description: 'ACME challenge: the response at the client did not match the key authorization.',
  },
  'acme.connection': { kind: 'forbidden', description: 'ACME challenge: the server could not connect to the client.' },
  'acme.dns': { kind: 'forbidden', description: 'ACME challenge: the DNS lookup of the validation record failed.' },
  'acme.tls': { kind: 'forbidden', description: 'ACME challenge: the TLS handshake (tls-alpn-01) failed.' },
  'spiffe.not_initialized': {
    kind: 'unavailable',
    description: 'SPIFFE is not initialised on this server yet (`pkim spiffe init --trust-domain …`).',
  },
  'spiffe.trust_domain_mismatch': {
    kind: 'conflict',
    description: 'SPIFFE is already initialised for another trust domain.',
  },
  'spiffe.invalid_trust_domain': {
    kind: 'invalid_input',
    description: 'The trust domain is not a valid SPIFFE trust domain name (lowercase letters, digits, `.`, `-`, `_`).',
  },
  'spiffe.invalid_id': {
    kind: 'invalid_input',
    description: 'Not a valid SPIFFE ID of this trust domain (`spiffe://<trust domain>/<service type>/<instance id>`).',
  },
  'spiffe.unknown_service_type': {
    kind: 'invalid_input',
    description:
      'The service type is not one SVIDs are issued for (orchestrator, auth, node, gateway, envoy/app, ' +
      'envoy/transport).',
  },
  'spiffe.identity_mismatch': {
    kind: 'invalid_input',
    description:
      'The CSR does not carry exactly one URI SAN equal to the requested SPIFFE ID (or to the ID of the ' +
      'renewing SVID).',
  },
  'spiffe.key_type_not_allowed': {
    kind: 'invalid_input',
    description: 'The CSR key type is not allowed for SVIDs (default: ec-p384 only; PKIM_SPIFFE_KEY_TYPES).',
  },
  'spiffe.ttl_exceeded': {
    kind: 'invalid_input',
    description: 'The requested SVID lifetime exceeds the maximum (default 24 h; PKIM_SPIFFE_MAX_TTL).',
  },
  'spiffe.identity_denied': { kind: 'forbidden', description: 'The SPIFFE ID is on the deny list.' },
  'spiffe.identity_not_allowed': {
    kind: 'forbidden',
    description: 'The API token may not request this SPIFFE ID (its `--spiffe-allow` patterns do not match).',
  },
  'spiffe.svid_invalid': {
    kind: 'unauthenticated',
    description: 'The client certificate is not a current SVID issued here (unknown, expired or not verifying).',
  },
  'spiffe.ca_rotated': {
    kind: 'unavailable',
    description:
      'The SPIFFE CA was rotated twice while the SVID was issued (once is retried with the current CA): request it ' +
      'again.',
  },
  'spiffe.svid_revoked': {
    kind: 'forbidden',
    description: 'The client certificate presented for renewal has been revoked.',
  },
  'ssh.ca_not_found': { kind: 'not_found', description: 'No such SSH certificate authority.' },
  'ssh.ca_name_taken': { kind: 'conflict', description: 'An SSH CA with this name already exists.' },
  'ssh.ca_not_active': {
    kind: 'conflict',
    description: 'The SSH CA does not issue (it is rotating out or retired): use the active CA of its environment.',
  },
  'ssh.certificate_not_found': { kind: 'not_found', description: 'No such SSH certificate.' },
  'ssh.certificate_already_revoked': { kind: 'conflict', description: 'The SSH certificate is already revoked.' },
  'ssh.principal_not_allowed': {
    kind: 'policy',
    description: 'A requested principal is not granted to the SSH user (or not a name of the host).',
  },
  'ssh.blocked': { kind: 'policy', description: 'The SSH user is blocked on this host or fleet-wide.' },
  'ssh.environment_not_found': { kind: 'not_found', description: 'No such SSH environment.' },
  'ssh.host_not_found': { kind: 'not_found', description: 'No such SSH host in this environment.' },
  'ssh.user_not_found': { kind: 'not_found', description: 'No such SSH user.' },
  'ssh.principal_not_found': { kind: 'not_found', description: 'No such principal in the catalogue.' },
  'ssh.not_found': { kind: 'not_found', description: 'No such SSH block or fleet token.' },
  'ssh.name_taken': {
    kind: 'conflict',
    description: 'An SSH environment, host, user, principal or grant with this name already exists.',
  },
  'ssh.user_disabled': { kind: 'policy', description: 'The SSH user is disabled.' },
  'ssh.idempotency_conflict': {
    kind: 'conflict',
    description: 'The idempotency key was already used by this fleet token for a different request.',
  },
  'ssh.fleet_token_invalid': {
    kind: 'unauthenticated',
    description: 'The fleet token is unknown, revoked or expired.',
  },
  'ssh.operation_not_allowed': {
    kind: 'forbidden',
    description: 'The fleet token is not scoped to this operation or environment.',
  },
  'internal.error': { kind: 'internal', description: 'An unexpected error.' },
  'server.listen_failed': {
    kind: 'unavailable',
    description:
      '`pkim serve` cannot listen on its address: the port is in use, needs privileges, or the host is not an ' +
      'address of this machine (the message says which). A first boot makes the administrator only once the server ' +
      'listens, so none is left whose one-time password was never shown.',
  },
  'worker.failed': {
    kind: 'unavailable',
    description:
      'A signing worker thread stopped while handling the request (it is restarted), or the workers cannot start; ' +
      'nothing was issued, retry.',
  },
  'vault.invalid_parameter': {
    kind: 'invalid_input',
    description: 'A Vault API parameter is missing, of the wrong type or not supported (HTTP 400 on /v1/).',
  },
  'vault.mount_not_found': { kind: 'not_found', description: 'No Vault PKI mount at this path.' },
  'vault.mount_exists': {
    kind: 'invalid_input',
    description: 'A Vault PKI mount already uses this path (or a parent/child of it).',
  },
  'vault.mount_has_issuer': {
    kind: 'conflict',
    description:
      'intermediate/set-signed of a certificate for no pending CA of the mount, where one of its issuers already ' +
      'has another certificate (HTTP 400 on /v1/): generate a new intermediate for a new issuer.',
  },
  'vault.role_not_found': { kind: 'not_found', description: 'No such Vault role on this mount.' },
  'vault.issuer_not_found': {
    kind: 'not_found',
    description:
      "issuer/:ref named neither the mount's issuer (its CA's id or name) nor `default` " +
      '(HTTP 404; OpenBao answers 500).',
  },
  'vault.role_exists': {
    kind: 'conflict',
    description: 'A role of this name already exists on the mount (the console creates; edit it instead).',
  },
  'vault.unknown_role': {
    kind: 'invalid_input',
    description: 'issue/sign named a role that does not exist (Vault answers 400, not 404).',
  },
  'vault.permission_denied': {
    kind: 'forbidden',
    description: 'Missing, invalid or expired Vault token, or a login that could not be verified (HTTP 403).',
  },
  'vault.unsupported_path': { kind: 'not_found', description: 'The Vault API has no such path (HTTP 404).' },
  'vault.unsupported_operation': {
    kind: 'invalid_input',
    description: 'The Vault API path exists but not for this operation (HTTP 405).',
  },
  'vault.cert_not_found': { kind: 'invalid_input', description: 'revoke named a serial this mount never issued.' },
  'vault.revoke_issuer': { kind: 'invalid_input', description: 'A CA cannot be added to its own CRL.' },
  'vault.sealed': {
    kind: 'unavailable',
    description:
      'The Vault API is sealed (HTTP 503 "Vault is sealed"): an administrator sealed it (sys/seal), or the database ' +
      'or a key backend is unavailable.',
  },
  'keystore.invalid_input': {
    kind: 'invalid_input',
    description: 'A tenant id, keystore type, template or endpoint of the keystore certificate lifecycle is malformed.',
  },
  'keystore.template_not_found': { kind: 'not_found', description: 'No certificate template for this keystore type.' },
  'keystore.not_connected': { kind: 'not_found', description: 'The tenant has no such keystore connection.' },
  'keystore.already_connected': {
    kind: 'conflict',
    description: 'The tenant already has a connection to this keystore type (one certificate per tenant per keystore).',
  },
  'keystore.vault_denied': {
    kind: 'forbidden',
    description: 'The Vault/OpenBao PKI endpoint refused the token or the login (HTTP 403).',
  },
  'keystore.vault_error': {
    kind: 'unavailable',
    description: 'The Vault/OpenBao PKI endpoint refused the request or could not be reached; nothing was activated.',
  },
  'keystore.handshake_failed': {
    kind: 'unavailable',
    description: 'The mTLS handshake with the keystore endpoint failed with the new certificate; it was not activated.',
  },
  'keystore.key_unavailable': {
    kind: 'internal',
    description: 'A tenant key or private key could not be unwrapped (wrong key-encryption key or tampered data).',
  },
  'remote.unsupported': {
    kind: 'invalid_input',
    description:
      'Remote mode (--server, PKIM_SERVER or the `pkim login` profile): the command, or one of its options, works ' +
      'on this machine only (the message says why: e.g. `pkim init`, `ssh ca create --backend pkcs11`) or has no ' +
      'remote form; `--local` runs it on the local data directory. Nothing was sent.',
  },
  'remote.unreachable': {
    kind: 'unavailable',
    description:
      'Remote mode: the server could not be reached (refused, timed out, or its TLS certificate is not trusted: ' +
      'give --ca-file for a private CA). Nothing was changed.',
  },
  'remote.no_token': {
    kind: 'unauthenticated',
    description: 'Remote mode without an API token: give --token or PKIM_TOKEN, or `pkim login`.',
  },
  'remote.bad_response': {
    kind: 'unavailable',
    description: 'Remote mode: the server answered something that is not a PKI Manager API answer (a proxy page?).',
  },
};

/**
 * The message of the warn record of a failed operation (recordFailure, packages/authority: ca-context.ts; fields
 * `{ action, target, code, reason }`). The CLI holds these back and drops the one its `error: …` line says again
 * (apps/cli: cli-context.ts). Here, not in the authority: the CLI's logger reads it without loading the authority.
 */
export const FAILURE_LOG_MESSAGE = 'operation failed';
