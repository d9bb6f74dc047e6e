/**
 * The REST twin of the tRPC procedures (`/api/v1`): one row per procedure saying only HOW it is reached over
 * REST — method, resource path, success status, which path parameters fill which input fields. The input and
 * output schemas are the procedure's own (the contract's zod schemas), so the server's generic adapter, the
 * OpenAPI document and the remote CLI all derive from one definition; nothing here is a second copy of a schema.
 *
 * Input of a twin = the path parameters (bound to input fields) + the query string (GET, DELETE) or the JSON
 * body (POST, PUT). A few twins also answer a file or PEM instead of JSON (`download`), for clients that do not
 * ask for `application/json`: the first hand-written REST routes answered that way and keep doing so.
 */

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A non-JSON rendering of a procedure's JSON output (a file or PEM); JSON when the client accepts it. */
export interface RestDownload {
  /** the media type(s) listed in the OpenAPI document */
  mediaTypes: readonly string[];
  render(output: unknown): { mediaType: string; body: string | Uint8Array; fileName?: string; warning?: string };
}

export interface RestTwin {
  method: RestMethod;
  /** below `/api/v1`, Fastify syntax (`/cas/:id`) */
  path: string;
  /** success status (default 200) */
  status?: 200 | 201;
  /** path parameter → the input field it fills (default: the field of the same name) */
  bind?: Readonly<Record<string, string>>;
  download?: RestDownload;
  summary: string;
}

export const REST_PREFIX = '/api/v1';

interface ExportFileOutput {
  fileName: string;
  mediaType: string;
  contentBase64: string;
  warning?: string;
}
const fileDownload: RestDownload = {
  mediaTypes: ['application/octet-stream'],
  render(output) {
    const f = output as ExportFileOutput;
    const body = Uint8Array.from(atob(f.contentBase64), (c) => c.charCodeAt(0));
    return { mediaType: f.mediaType, body, fileName: f.fileName, warning: f.warning };
  },
};
const pemChainDownload: RestDownload = {
  mediaTypes: ['application/pem-certificate-chain'],
  render(output) {
    const v = output as { certificatePem: string; chainPem: string };
    return { mediaType: 'application/pem-certificate-chain', body: `${v.certificatePem.trim()}\n${v.chainPem}` };
  },
};

const CA = { id: 'ref' } as const;

/** Every tRPC procedure's REST twin by procedure path (a test fails when a procedure has no row and no exclusion). */
export const REST_TWINS = {
  'ca.list': { method: 'GET', path: '/cas', summary: 'List CAs' },
  'ca.get': { method: 'GET', path: '/cas/:id', bind: CA, summary: 'Show a CA (id or name), its certificate and chain' },
  'ca.create': { method: 'POST', path: '/cas', status: 201, summary: 'Create a root or intermediate CA' },
  'ca.createExternal': {
    method: 'POST',
    path: '/cas/external',
    status: 201,
    summary: 'Create an intermediate CA for an outside CA to sign: its key here, its CSR in the answer (pending)',
  },
  'ca.importCertificate': {
    method: 'PUT',
    path: '/cas/:id/certificate',
    bind: CA,
    summary: 'Import the certificate an outside CA signed for a pending CA (the CA becomes active)',
  },
  'ca.importExisting': {
    method: 'POST',
    path: '/cas/import',
    status: 201,
    summary: 'Bring an existing CA: its certificate and private key become an active CA (the key kept encrypted)',
  },
  'ca.setStatus': { method: 'PUT', path: '/cas/:id/status', summary: 'Enable or disable a CA (id or name)' },
  'ca.setUrls': { method: 'PUT', path: '/cas/:id/urls', bind: CA, summary: 'Set the CRL/OCSP/AIA URLs a CA embeds' },
  'ca.rename': {
    method: 'PUT',
    path: '/cas/:id/name',
    bind: CA,
    summary: 'Rename a CA (id or name; its id, certificate and what is bound to it stay)',
  },
  'ca.setLeafNotAfterBehavior': {
    method: 'PUT',
    path: '/cas/:id/leaf-not-after',
    bind: CA,
    summary: "Set what a leaf asked past the CA's notAfter gets: err (refused), truncate (cut at it) or permit",
  },
  'ca.revoke': { method: 'POST', path: '/cas/:id/revoke', summary: 'Revoke a CA (id or name) certificate' },
  'ca.renew': {
    method: 'POST',
    path: '/cas/:id/renew',
    bind: CA,
    summary: "Renew a CA's certificate with its key (same subject and SKI, new serial and validity)",
  },
  'ca.revokeCross': {
    method: 'POST',
    path: '/cas/:id/revoke-cross',
    bind: CA,
    summary: "Revoke a rotated root's cross certificate on its own (the successor stays valid)",
  },
  'ca.rotate': {
    method: 'POST',
    path: '/cas/:id/rotate',
    status: 201,
    bind: CA,
    summary: 'Rotate a CA key: a successor CA with a new key (a root also gets a cross certificate from the old one)',
  },
  'ca.delete': {
    method: 'DELETE',
    path: '/cas/:id',
    summary: 'Delete a CA (id or name; optionally destroying its key)',
  },
  'ca.generateCrl': { method: 'POST', path: '/cas/:id/crl', bind: CA, summary: 'Sign a fresh CRL for a CA now' },
  'ca.exportChain': { method: 'GET', path: '/cas/:id/chain', bind: CA, summary: 'The PEM chain of a CA (JSON)' },
  'certificate.list': { method: 'GET', path: '/certificates', summary: 'List certificates (keyset paged)' },
  'certificate.get': { method: 'GET', path: '/certificates/:ref', summary: 'Show a certificate (id or serial)' },
  'certificate.issue': { method: 'POST', path: '/certificates', status: 201, summary: 'Sign a CSR' },
  'certificate.issueWithKey': {
    method: 'POST',
    path: '/certificates/with-key',
    status: 201,
    summary: 'Issue a certificate with a server-generated key (returned once)',
  },
  'certificate.revoke': { method: 'POST', path: '/certificates/:ref/revoke', summary: 'Revoke a certificate' },
  'certificate.revokePresented': {
    method: 'POST',
    path: '/certificates/revoke',
    summary: 'Revoke a certificate given as PEM (also one a CA here signed but never stored: it gets its row)',
  },
  'certificate.expiring': { method: 'GET', path: '/certificates/expiring', summary: 'Certificates expiring soon' },
  'certificate.delete': {
    method: 'DELETE',
    path: '/certificates/:ref',
    summary: 'Delete an expired certificate record (a revoked one stays until it expires; the audit trail keeps it)',
  },
  'request.submit': { method: 'POST', path: '/requests', status: 201, summary: 'Submit a certificate request' },
  'request.list': { method: 'GET', path: '/requests', summary: 'List certificate requests' },
  'request.get': { method: 'GET', path: '/requests/:id', summary: 'Show a certificate request' },
  'request.certificate': {
    method: 'GET',
    path: '/requests/:id/certificate',
    download: pemChainDownload,
    summary: 'The certificate issued from a request (PEM chain, or JSON with Accept: application/json)',
  },
  'request.approve': { method: 'POST', path: '/requests/:id/approve', summary: 'Approve a request (signs it)' },
  'request.reject': { method: 'POST', path: '/requests/:id/reject', summary: 'Reject a request' },
  'audit.list': { method: 'GET', path: '/audit/events', summary: 'List audit events' },
  'audit.verify': { method: 'GET', path: '/audit/verify', summary: 'Verify the audit hash chain' },
  'audit.actors': {
    method: 'GET',
    path: '/audit/actors',
    summary: 'The users and API tokens that appear in the audit log, by name',
  },
  'user.me': { method: 'GET', path: '/users/me', summary: 'The calling user or token' },
  'user.changePassword': { method: 'PUT', path: '/users/me/password', summary: 'Change a password' },
  'user.list': { method: 'GET', path: '/users', summary: 'List users' },
  'user.create': { method: 'POST', path: '/users', status: 201, summary: 'Create a user' },
  'user.setRole': { method: 'PUT', path: '/users/:id/role', summary: "Change a user's role" },
  'user.disable': { method: 'PUT', path: '/users/:id/disabled', summary: 'Disable or enable a user' },
  'user.unlock': { method: 'POST', path: '/users/:id/unlock', summary: 'Unlock a user locked out by failed logins' },
  'token.create': { method: 'POST', path: '/tokens', status: 201, summary: 'Create an API token (shown once)' },
  'token.list': { method: 'GET', path: '/tokens', summary: 'List API tokens' },
  'token.revoke': { method: 'POST', path: '/tokens/:id/revoke', summary: 'Revoke an API token' },
  'system.health': { method: 'GET', path: '/system/health', summary: 'Health of the database and key backends' },
  'system.info': { method: 'GET', path: '/system/info', summary: 'Version and configuration summary' },
  'system.stats': { method: 'GET', path: '/system/stats', summary: 'Counters' },
  'insights.dashboard': { method: 'GET', path: '/insights/dashboard', summary: 'Dashboard counters and warnings' },
  'insights.expiryTimeline': { method: 'GET', path: '/insights/expiry-timeline', summary: 'Expiry histogram' },
  'insights.search': { method: 'GET', path: '/insights/search', summary: 'Search CAs, certificates, requests' },
  'insights.domains': { method: 'GET', path: '/insights/domains', summary: 'Domains covered by certificates' },
  'insights.profiles': { method: 'GET', path: '/profiles', summary: 'Certificate profiles' },
  'profiles.get': { method: 'GET', path: '/profiles/:name', summary: 'One certificate profile' },
  'profiles.create': {
    method: 'POST',
    path: '/profiles',
    status: 201,
    summary: 'Create a custom certificate profile (fields as in docs/profiles.md)',
  },
  'profiles.update': {
    method: 'PUT',
    path: '/profiles/:name',
    bind: { name: 'profile' },
    summary: 'Replace a custom profile made through the API (the body: its fields)',
  },
  'profiles.delete': {
    method: 'DELETE',
    path: '/profiles/:name',
    summary: 'Delete a custom profile made through the API (refused while something uses it)',
  },
  'insights.decodeCsr': { method: 'POST', path: '/decode/csr', summary: 'Decode a PEM CSR' },
  'insights.decodeCertificate': { method: 'POST', path: '/decode/certificate', summary: 'Decode a PEM certificate' },
  'spiffe.status': { method: 'GET', path: '/spiffe', summary: 'SPIFFE trust domain status' },
  'spiffe.init': { method: 'POST', path: '/spiffe', summary: 'Set up the SPIFFE trust domain' },
  'spiffe.list': { method: 'GET', path: '/spiffe/svids', summary: 'List issued SVIDs' },
  'spiffe.denied': { method: 'GET', path: '/spiffe/denied', summary: 'List denied SPIFFE IDs' },
  'spiffe.deny': { method: 'POST', path: '/spiffe/denied', summary: 'Deny a SPIFFE ID' },
  'spiffe.allow': { method: 'POST', path: '/spiffe/allow', summary: 'Allow a denied SPIFFE ID again' },
  'spiffe.rotate': { method: 'POST', path: '/spiffe/rotate', summary: 'Rotate the SPIFFE CA of a role' },
  'spiffe.purge': { method: 'POST', path: '/spiffe/purge', summary: 'Purge expired SVIDs' },
  'ssh.listCas': { method: 'GET', path: '/ssh/cas', summary: 'List SSH CAs' },
  'ssh.createCa': { method: 'POST', path: '/ssh/cas', status: 201, summary: 'Create an SSH CA' },
  'ssh.listCertificates': { method: 'GET', path: '/ssh/certificates', summary: 'List SSH certificates' },
  'ssh.issue': { method: 'POST', path: '/ssh/certificates', status: 201, summary: 'Sign an SSH public key' },
  'ssh.revoke': { method: 'POST', path: '/ssh/certificates/revoke', summary: 'Revoke SSH certificates' },
  'ssh.krlStatus': { method: 'GET', path: '/ssh/krl', summary: 'KRL status' },
  'ssh.fleetTokens': { method: 'GET', path: '/ssh/fleet-tokens', summary: 'List SSH fleet tokens' },
  'ssh.createFleetToken': { method: 'POST', path: '/ssh/fleet-tokens', status: 201, summary: 'Create a fleet token' },
  'ssh.revokeFleetToken': { method: 'POST', path: '/ssh/fleet-tokens/:id/revoke', summary: 'Revoke a fleet token' },
  'ssh.rotateCa': { method: 'POST', path: '/ssh/cas/rotate', summary: 'Rotate an SSH CA of an environment' },
  'ssh.retireExpiredCas': { method: 'POST', path: '/ssh/cas/retire-expired', summary: 'Retire rotated-out SSH CAs' },
  'ssh.listEnvironments': { method: 'GET', path: '/ssh/environments', summary: 'List SSH environments' },
  'ssh.createEnvironment': { method: 'POST', path: '/ssh/environments', status: 201, summary: 'Create an environment' },
  'ssh.trust': { method: 'GET', path: '/ssh/trust-lines', summary: 'Trust lines of an environment' },
  'ssh.listHosts': { method: 'GET', path: '/ssh/hosts', summary: 'List SSH hosts' },
  'ssh.addHost': { method: 'POST', path: '/ssh/hosts', status: 201, summary: 'Register an SSH host' },
  'ssh.hostAccounts': { method: 'GET', path: '/ssh/hosts/accounts', summary: 'Account mappings of a host' },
  'ssh.mapAccount': { method: 'POST', path: '/ssh/hosts/accounts', summary: 'Map a principal to a host account' },
  'ssh.unmapAccount': { method: 'POST', path: '/ssh/hosts/accounts/unmap', summary: 'Remove an account mapping' },
  'ssh.hostBundle': { method: 'GET', path: '/ssh/hosts/bundle', summary: 'Deploy bundle of a host' },
  'ssh.listUsers': { method: 'GET', path: '/ssh/users', summary: 'List SSH users' },
  'ssh.addUser': { method: 'POST', path: '/ssh/users', status: 201, summary: 'Register an SSH user' },
  'ssh.setUserDisabled': { method: 'POST', path: '/ssh/users/disabled', summary: 'Disable or enable an SSH user' },
  'ssh.listPrincipals': { method: 'GET', path: '/ssh/principals', summary: 'List SSH principals' },
  'ssh.addPrincipal': { method: 'POST', path: '/ssh/principals', status: 201, summary: 'Add an SSH principal' },
  'ssh.grant': { method: 'POST', path: '/ssh/grants', summary: 'Grant a principal to a user' },
  'ssh.ungrant': { method: 'POST', path: '/ssh/grants/remove', summary: 'Withdraw a principal from a user' },
  'ssh.listBlocks': { method: 'GET', path: '/ssh/blocks', summary: 'List SSH access blocks' },
  'ssh.block': { method: 'POST', path: '/ssh/blocks', status: 201, summary: 'Block a user on hosts or fleet-wide' },
  'ssh.unblock': { method: 'POST', path: '/ssh/blocks/:id/remove', summary: 'Lift an access block' },
  'exports.certificate': {
    method: 'POST',
    path: '/certificates/:ref/export',
    download: fileDownload,
    summary: 'Export a certificate (PEM, DER, PKCS#7, PKCS#12…): the file, or JSON with Accept: application/json',
  },
  'exports.truststore': {
    method: 'POST',
    path: '/cas/:id/truststore',
    bind: { id: 'ca' },
    download: fileDownload,
    summary: "A CA's chain as a truststore file, or JSON with Accept: application/json",
  },
  'acme.directories': { method: 'GET', path: '/acme/directories', summary: 'CAs with ACME enabled' },
  'acme.enable': { method: 'PUT', path: '/cas/:id/acme', bind: { id: 'ca' }, summary: 'Enable ACME on a CA' },
  'acme.disable': { method: 'DELETE', path: '/cas/:id/acme', bind: { id: 'ca' }, summary: 'Disable ACME on a CA' },
  'acme.accounts': { method: 'GET', path: '/acme/accounts', summary: 'List ACME accounts' },
  'acme.deactivateAccount': {
    method: 'POST',
    path: '/acme/accounts/:id/deactivate',
    summary: 'Deactivate an ACME account',
  },
  'acme.orders': { method: 'GET', path: '/acme/orders', summary: 'List ACME orders' },
  'acme.eabKeys': { method: 'GET', path: '/acme/eab-keys', summary: 'List external account binding keys' },
  'acme.createEabKey': { method: 'POST', path: '/acme/eab-keys', status: 201, summary: 'Create an EAB key' },
  'acme.revokeEabKey': { method: 'DELETE', path: '/acme/eab-keys/:kid', summary: 'Revoke an EAB key' },
  'acme.events': { method: 'GET', path: '/acme/events', summary: 'Recent ACME events' },
  'renewal.renew': { method: 'POST', path: '/certificates/:ref/renew', status: 201, summary: 'Renew a certificate' },
  'notification.listRules': { method: 'GET', path: '/notifications/rules', summary: 'List notification rules' },
  'notification.createRule': {
    method: 'POST',
    path: '/notifications/rules',
    status: 201,
    summary: 'Create a notification rule (expiry or lifecycle events → webhook or e-mail)',
  },
  'notification.setRuleEnabled': {
    method: 'PUT',
    path: '/notifications/rules/:rule/enabled',
    summary: 'Enable or disable a notification rule',
  },
  'notification.rotateSecret': {
    method: 'POST',
    path: '/notifications/rules/:rule/rotate-secret',
    summary: "Rotate a webhook rule's HMAC secret (the old one still signs during the overlap)",
  },
  'notification.removeRule': {
    method: 'DELETE',
    path: '/notifications/rules/:rule',
    summary: 'Remove a notification rule',
  },
  'notification.listDeliveries': {
    method: 'GET',
    path: '/notifications/deliveries',
    summary: 'The delivery log (status, attempts)',
  },
  'vault.mounts.list': { method: 'GET', path: '/vault/mounts', summary: 'List Vault PKI mounts and their CAs' },
  'vault.mounts.bind': {
    method: 'POST',
    path: '/vault/mounts',
    status: 201,
    summary: 'Bind a Vault PKI mount (path below /v1/) to a CA',
  },
  'vault.mounts.unbind': {
    method: 'DELETE',
    path: '/vault/mounts/:mount',
    bind: { mount: 'path' },
    summary: 'Unbind a Vault PKI mount (its roles go; the CA and certificates stay)',
  },
  'vault.roles.list': { method: 'GET', path: '/vault/mounts/:mount/roles', summary: 'List the roles of a mount' },
  'vault.roles.create': {
    method: 'POST',
    path: '/vault/mounts/:mount/roles',
    status: 201,
    summary: 'Create a Vault role (policy fields as in /v1/<mount>/roles/:name)',
  },
  'vault.roles.update': {
    method: 'PUT',
    path: '/vault/mounts/:mount/roles/:name',
    summary: 'Change fields of a Vault role (the others stay)',
  },
  'vault.roles.delete': { method: 'DELETE', path: '/vault/mounts/:mount/roles/:name', summary: 'Delete a Vault role' },
  'vault.roles.certificates': {
    method: 'GET',
    path: '/vault/mounts/:mount/roles/:name/certificates',
    bind: { name: 'role' },
    summary: 'The certificates issued through a Vault role',
  },
  'vault.keystores': {
    method: 'GET',
    path: '/vault/keystores',
    summary: 'Tenant keystores as the CA sees them (certificates of the keystore-* roles by name)',
  },
  'bulk.issueCsv': {
    method: 'POST',
    path: '/bulk/csv',
    status: 201,
    summary: 'Start a bulk CSV issuance or dry run (a job: poll GET /bulk/jobs/:id)',
  },
  'bulk.revoke': { method: 'POST', path: '/bulk/revoke', status: 201, summary: 'Start a batch revocation (a job)' },
  'bulk.renew': { method: 'POST', path: '/bulk/renew', status: 201, summary: 'Start a batch renewal (a job)' },
  'bulk.download': {
    method: 'POST',
    path: '/bulk/download',
    status: 201,
    summary: 'Start a batch download of certificates as a ZIP (a job)',
  },
  'bulk.job': {
    method: 'GET',
    path: '/bulk/jobs/:id',
    summary: 'A bulk job of yours: progress, per-row results, files',
  },
  'bulk.jobFile': {
    method: 'GET',
    path: '/bulk/jobs/:id/files/:file',
    download: fileDownload,
    summary: "A finished bulk job's file (results.csv|json, keys.zip, certificates.zip), or JSON with Accept",
  },
} as const satisfies Record<string, RestTwin>;

/**
 * Procedures with no REST twin, and why. Sessions are the console's: an API client authenticates with a
 * Bearer token (`pkim token create`), so login/logout have nothing to offer it.
 */
export const REST_EXCLUDED: Readonly<Record<string, string>> = {
  'user.login': 'creates a console session (cookie + CSRF); API clients use Bearer tokens',
  'user.logout': 'ends a console session; API clients revoke tokens (POST /tokens/:id/revoke)',
};

export type RestTwinName = keyof typeof REST_TWINS;

/** `:name` parameters of a twin path, in order. */
export function restPathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!);
}

/** The input field a path parameter fills. */
export function restBoundField(twin: RestTwin, param: string): string {
  return twin.bind?.[param] ?? param;
}

/** whether the rest of the input travels in the query string (else in a JSON body) */
export function restInputInQuery(method: RestMethod): boolean {
  return method === 'GET' || method === 'DELETE';
}

export interface RestCall {
  method: RestMethod;
  /** with the prefix, parameters filled and percent-encoded, plus the query string */
  url: string;
  body?: Record<string, unknown>;
}

/**
 * The HTTP request of a procedure call: the client side of the adapter (the remote CLI and tests use it).
 * Query values: strings as they are, numbers and booleans as text, arrays as repeated keys.
 */
export function restCallFor(name: RestTwinName, input: Record<string, unknown> | undefined): RestCall {
  const twin: RestTwin = REST_TWINS[name];
  const bound = new Set<string>();
  const path = twin.path.replace(/:([A-Za-z_]\w*)/g, (_m, p: string) => {
    const field = restBoundField(twin, p);
    const v = input?.[field];
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${name}: the input has no '${field}'`);
    bound.add(field);
    return encodeURIComponent(String(v));
  });
  const rest = Object.fromEntries(Object.entries(input ?? {}).filter(([k]) => !bound.has(k)));
  if (!restInputInQuery(twin.method)) return { method: twin.method, url: `${REST_PREFIX}${path}`, body: rest };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? (v as unknown[]) : [v]) {
      q.append(k, typeof one === 'string' ? one : JSON.stringify(one));
    }
  }
  const qs = q.toString();
  return { method: twin.method, url: `${REST_PREFIX}${path}${qs ? `?${qs}` : ''}` };
}
