// The authorization matrix over HTTP (the kit of authorization-matrix-trpc-1/-2 and -rest-1/-2.test.ts, each a half of
// the tRPC procedures or of the REST routes: one file took 80-157 s on a loaded machine): every tRPC procedure and
// every REST route of the running server × {admin, operator, auditor, requester (session cookie + CSRF), an operator
// API token limited to ANOTHER CA (resources), no credentials} → the expected HTTP status, and the database unchanged
// after every refusal. The routes are read from the running app (Fastify's route tree, the tRPC router's
// procedures), so a new route or procedure without a row here fails the test. Routes outside the access table
// (relying party, health, Vault, SSH fleet, SPIFFE) get an anonymous probe each — every Vault route that needs a
// token, for every operation it has — with the same "nothing changed" check.
//
// "Unchanged" = a digest of every row of every table of the SQLite file, except (decided, see docs/security.md):
//   - audit rows with outcome `failure`: a refused signing/revocation records `*.failed` on purpose;
//   - `api_tokens.last_used_at`: a usage timestamp (written at most once a minute per token), not a state change;
//   - `ocsp_responses`: pre-signed OCSP answers, a cache written by the responder in the background.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ACCESS_TABLE, appRouter, buildServer } from '@pkim/server';
import { REST_PREFIX, REST_TWINS, restCallFor, type RestCall, type RestTwin, type RestTwinName } from '@pkim/contract';
import type { Actor } from '@pkim/authority';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
  type AuthorityFixture,
} from './server-test-support';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { MOUNT_ROUTES, SYSTEM_ROUTES, type VaultOp } from '../src/transports/vault/vault-routes';
import { opensslCsr, opensslSelfSigned, opensslSignCaCsr } from '../../../tests/support/openssl-tools';
import { generateSshKey, makeTempDir } from '../../../tests/support/openssh';
import { sqliteDigest } from '../../../tests/support/db-digest';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const PASSWORD = 'matrix password 0123456789';
/** the fields of the custom profiles the rows make (docs/profiles.md "Fields") */
const MX_PROFILE = {
  description: 'matrix',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['clientAuth'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '30d',
  maxLifetime: '90d',
};

const PRINCIPALS = ['admin', 'operator', 'auditor', 'requester', 'scoped', 'anonymous'] as const;
type Principal = (typeof PRINCIPALS)[number];
const SESSION_ROLES = ['admin', 'operator', 'auditor', 'requester'] as const;
type SessionRole = (typeof SESSION_ROLES)[number];

/** What a row needs: the fixture's objects and fresh victims (created in-process, before the request). */
interface Kit {
  rootId: string;
  issuingId: string;
  leafId: string;
  leafPem: string;
  csrPem: string;
  requestId: string;
  /** submitted by the requester principal and approved: it has a certificate */
  issuedRequestId: string;
  sshPub: string;
  freshCa(): Promise<string>;
  freshRevokedRoot(): Promise<string>;
  /** the successor of a root just rotated: it has a cross certificate (`ca.revokeCross` victims) */
  freshRotatedRoot(): Promise<string>;
  /** a pending CA (`ca.createExternal`) and the certificate an openssl root outside signed for its key */
  freshPendingCa(): Promise<{ ref: string; certificate: string }>;
  freshLeaf(): Promise<string>;
  /** a fresh leaf's PEM (`certificate.revokePresented` victims) */
  freshLeafPem(): Promise<string>;
  /** an expired leaf of the issuing CA not yet deleted (issued in open() with a lifetime of 1 s) */
  expiredLeaf(): string;
  freshRequest(): Promise<string>;
  freshUser(): Promise<string>;
  freshToken(): Promise<string>;
  freshSshSerial(): Promise<string>;
  freshFleetToken(): Promise<string>;
  freshRule(): Promise<string>;
  /** a custom profile made through the API (profiles.update/delete victims) */
  freshProfile(): Promise<string>;
  /** a fresh CA with ACME enabled */
  freshAcmeCa(): Promise<string>;
  freshEabKey(): Promise<string>;
  /** an SSH environment with a user CA in it (rotation victims) */
  freshSshEnv(): Promise<string>;
  /** a registered SSH host, a user with a granted principal, an access block */
  freshSshHost(): Promise<string>;
  freshSshUser(): Promise<string>;
  freshSshBlock(): Promise<string>;
  /** a fresh Vault mount on the issuing CA, with a role `web` */
  freshVaultMount(): Promise<string>;
}

/**
 * Expected status per principal, in the order admin operator auditor requester scoped anonymous. Written out by
 * hand (not derived from the role table), so a change of who may call what fails here.
 */
type Expect = string;
const ADMIN_ONLY: Expect = '200 403 403 403 403 401';
const EVERYONE: Expect = '200 200 200 200 200 401';
const READERS: Expect = '200 200 200 403 200 401';
const ISSUERS_ON_CA: Expect = '200 200 403 403 403 401'; // the scoped token is refused by its CA limit
const AUDITORS: Expect = '200 403 200 403 403 401';
// a single object of a CA the scoped token may not use: answered as if it did not exist
const READERS_OF_CA: Expect = '200 200 200 403 404 401';
const PUBLIC: Expect = '200 200 200 200 200 200';

interface TrpcRow {
  input?: (k: Kit) => unknown;
  expect: Expect;
}

const TRPC: Record<string, TrpcRow> = {
  'ca.list': { expect: EVERYONE },
  'ca.get': { input: (k) => ({ ref: k.issuingId }), expect: EVERYONE },
  'ca.exportChain': { input: () => ({ ref: 'mx-issuing' }), expect: EVERYONE },
  'ca.generateCrl': { input: () => ({ ref: 'mx-issuing' }), expect: ADMIN_ONLY },
  'ca.create': {
    input: () => ({ name: `mx-new-${seq()}`, subject: { commonName: 'Matrix New CA' }, keyType: 'ECDSA-P256' }),
    expect: ADMIN_ONLY,
  },
  'ca.createExternal': {
    input: () => ({ name: `mx-ext-${seq()}`, subject: { commonName: 'Matrix External CA' }, keyType: 'ec-p256' }),
    expect: ADMIN_ONLY,
  },
  'ca.importCertificate': { input: (k) => k.freshPendingCa(), expect: ADMIN_ONLY },
  // an outside root made by openssl, with its key: a new CA for the one principal allowed
  'ca.importExisting': {
    input: () => {
      const ext = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
      const r = opensslSelfSigned({ subject: `/CN=mx-existing-${seq()}`, days: 2, addext: ext });
      return { certificate: r.certPem, privateKey: r.keyPem };
    },
    expect: ADMIN_ONLY,
  },
  'ca.setStatus': { input: async (k) => ({ id: await k.freshCa(), status: 'disabled' }), expect: ADMIN_ONLY },
  'ca.setUrls': {
    input: async (k) => ({ ref: await k.freshCa(), base: 'https://pki.matrix.example' }),
    expect: ADMIN_ONLY,
  },
  'ca.rename': { input: async (k) => ({ ref: await k.freshCa(), name: `mx-renamed-${seq()}` }), expect: ADMIN_ONLY },
  'ca.setLeafNotAfterBehavior': {
    input: async (k) => ({ ref: await k.freshCa(), behavior: 'truncate' }),
    expect: ADMIN_ONLY,
  },
  'ca.revoke': { input: async (k) => ({ id: await k.freshCa(), reason: 'cessationOfOperation' }), expect: ADMIN_ONLY },
  // a new certificate for a fresh CA's key; a successor of a fresh CA (named `<name>-2`)
  'ca.renew': { input: async (k) => ({ ref: await k.freshCa() }), expect: ADMIN_ONLY },
  'ca.rotate': { input: async (k) => ({ ref: await k.freshCa() }), expect: ADMIN_ONLY },
  'ca.revokeCross': { input: async (k) => ({ ref: await k.freshRotatedRoot() }), expect: ADMIN_ONLY },
  // only a revoked (or expired) root may be deleted
  'ca.delete': { input: async (k) => ({ id: await k.freshRevokedRoot() }), expect: ADMIN_ONLY },
  'certificate.list': { input: (k) => ({ ca: k.issuingId }), expect: READERS },
  'certificate.get': { input: (k) => ({ ref: k.leafId }), expect: READERS_OF_CA },
  'certificate.expiring': { input: () => ({ withinDays: 3650 }), expect: READERS },
  'certificate.issue': {
    input: (k) => ({ ca: 'mx-issuing', csr: k.csrPem, profile: 'tls-server' }),
    expect: ISSUERS_ON_CA,
  },
  'certificate.issueWithKey': {
    input: () => ({
      ca: 'mx-issuing',
      profile: 'tls-server',
      subject: { commonName: 'generated.matrix.example' },
      sans: { dns: ['generated.matrix.example'] },
      keyType: 'ec-p256',
    }),
    expect: ISSUERS_ON_CA,
  },
  'certificate.revoke': {
    input: async (k) => ({ ref: await k.freshLeaf(), reason: 'superseded' }),
    expect: ISSUERS_ON_CA,
  },
  'certificate.revokePresented': {
    input: async (k) => ({ certificatePem: await k.freshLeafPem(), reason: 'superseded' }),
    expect: ISSUERS_ON_CA,
  },
  // an expired record (a live one is refused with 409 whoever asks): admins only
  'certificate.delete': { input: async (k) => ({ ref: k.expiredLeaf() }), expect: ADMIN_ONLY },
  'request.submit': {
    input: (k) => ({ ca: 'mx-issuing', csr: k.csrPem, profile: 'tls-server' }),
    expect: '200 200 403 200 403 401',
  },
  'request.list': { expect: EVERYONE },
  'request.get': { input: (k) => ({ id: k.requestId }), expect: '200 200 200 200 404 401' },
  'request.certificate': { input: (k) => ({ id: k.issuedRequestId }), expect: '200 200 200 200 404 401' },
  'request.approve': { input: async (k) => ({ id: await k.freshRequest() }), expect: ISSUERS_ON_CA },
  'request.reject': {
    input: async (k) => ({ id: await k.freshRequest(), reason: 'matrix' }),
    expect: '200 200 403 403 404 401',
  },
  'audit.list': { input: () => ({ limit: 5 }), expect: AUDITORS },
  'audit.verify': { expect: AUDITORS },
  'audit.actors': { expect: AUDITORS },
  'user.me': { expect: EVERYONE },
  // another user's password: needs user:manage
  'user.changePassword': {
    input: async (k) => ({ id: await k.freshUser(), newPassword: 'a brand new password 42' }),
    expect: ADMIN_ONLY,
  },
  'user.list': { expect: ADMIN_ONLY },
  'user.create': {
    input: () => ({ username: `mx-created-${seq()}`, password: PASSWORD, role: 'requester' }),
    expect: ADMIN_ONLY,
  },
  'user.setRole': { input: async (k) => ({ id: await k.freshUser(), role: 'admin' }), expect: ADMIN_ONLY },
  'user.disable': { input: async (k) => ({ id: await k.freshUser(), disabled: true }), expect: ADMIN_ONLY },
  'user.unlock': { input: async (k) => ({ id: await k.freshUser() }), expect: ADMIN_ONLY },
  'user.login': { input: () => ({ username: 'mx-login', password: PASSWORD }), expect: PUBLIC },
  'user.logout': { expect: PUBLIC },
  'token.create': { input: () => ({ name: `mx-token-${seq()}`, role: 'requester' }), expect: ADMIN_ONLY },
  'token.list': { expect: ADMIN_ONLY },
  'token.revoke': { input: async (k) => ({ id: await k.freshToken() }), expect: ADMIN_ONLY },
  'system.health': { expect: EVERYONE },
  'system.info': { expect: EVERYONE },
  'system.stats': { expect: EVERYONE },
  'insights.dashboard': { expect: EVERYONE },
  'insights.expiryTimeline': { input: () => ({ days: 30 }), expect: READERS },
  'insights.search': { input: () => ({ q: 'matrix' }), expect: READERS },
  'insights.domains': { input: () => ({}), expect: READERS },
  'insights.profiles': { expect: EVERYONE },
  // custom profiles (profile-service.ts): read with ca:read, made, changed and deleted with ca:write
  'profiles.get': { input: () => ({ name: 'tls-server' }), expect: EVERYONE },
  'profiles.create': { input: () => ({ ...MX_PROFILE, name: `mx-profile-${seq()}` }), expect: ADMIN_ONLY },
  'profiles.update': {
    input: async (k) => ({ ...MX_PROFILE, profile: await k.freshProfile(), description: 'matrix, changed' }),
    expect: ADMIN_ONLY,
  },
  'profiles.delete': { input: async (k) => ({ name: await k.freshProfile() }), expect: ADMIN_ONLY },
  'insights.decodeCsr': { input: (k) => ({ pem: k.csrPem }), expect: EVERYONE },
  'insights.decodeCertificate': { input: (k) => ({ pem: k.leafPem }), expect: EVERYONE },
  'spiffe.status': { expect: ADMIN_ONLY },
  // a malformed trust domain: authorization comes first (403/401), the admin gets the validation error; a real
  // init here would end the "503 before init" probe of GET /pki/ca/bundle below
  'spiffe.init': { input: () => ({ trustDomain: 'Not A Domain!' }), expect: '400 403 403 403 403 401' },
  'spiffe.list': { input: () => ({}), expect: ADMIN_ONLY },
  'spiffe.denied': { expect: ADMIN_ONLY },
  'spiffe.deny': {
    input: () => ({ spiffeId: `spiffe://matrix.example/node/n-${seq()}`, reason: 'matrix' }),
    expect: ADMIN_ONLY,
  },
  'spiffe.allow': { input: () => ({ spiffeId: 'spiffe://matrix.example/node/n-0' }), expect: ADMIN_ONLY },
  'spiffe.rotate': { input: () => ({ role: 'services' }), expect: '503 403 403 403 403 401' }, // before init
  'spiffe.purge': { expect: ADMIN_ONLY },
  'ssh.listCas': { expect: READERS },
  'ssh.createCa': { input: () => ({ name: `mx-ssh-new-${seq()}`, type: 'host' }), expect: ADMIN_ONLY },
  'ssh.listCertificates': { input: () => ({ ca: 'mx-ssh-users' }), expect: READERS },
  'ssh.issue': {
    input: (k) => ({ ca: 'mx-ssh-users', publicKey: k.sshPub, principals: ['deploy'], ttl: '1h' }),
    expect: ISSUERS_ON_CA,
  },
  'ssh.revoke': {
    input: async (k) => ({ ca: 'mx-ssh-users', serial: await k.freshSshSerial() }),
    expect: ISSUERS_ON_CA,
  },
  'ssh.krlStatus': { input: () => ({ ca: 'mx-ssh-users' }), expect: READERS },
  'ssh.fleetTokens': { expect: ADMIN_ONLY },
  'ssh.createFleetToken': {
    input: () => ({ name: `mx-fleet-${seq()}`, operations: ['sign-host'] }),
    expect: ADMIN_ONLY,
  },
  'ssh.revokeFleetToken': { input: async (k) => ({ id: await k.freshFleetToken() }), expect: ADMIN_ONLY },
  // the scoped token is limited to another CA: refused by that limit
  'exports.certificate': { input: (k) => ({ ref: k.leafId, format: 'pem' }), expect: '200 200 200 403 403 401' },
  'exports.truststore': { input: () => ({ ca: 'mx-issuing', format: 'p7b' }), expect: EVERYONE },
  'renewal.renew': { input: async (k) => ({ ref: await k.freshLeaf() }), expect: ISSUERS_ON_CA },
  'notification.listRules': { expect: AUDITORS },
  'notification.createRule': {
    input: () => ({ name: `mx-rule-${seq()}`, trigger: 'expiry', channel: 'webhook', target: 'https://h.example/' }),
    expect: ADMIN_ONLY,
  },
  'notification.setRuleEnabled': {
    input: async (k) => ({ rule: await k.freshRule(), enabled: false }),
    expect: ADMIN_ONLY,
  },
  'notification.rotateSecret': {
    input: async (k) => ({ rule: await k.freshRule(), overlap: '1h' }),
    expect: ADMIN_ONLY,
  },
  'notification.removeRule': { input: async (k) => ({ rule: await k.freshRule() }), expect: ADMIN_ONLY },
  'notification.listDeliveries': { input: () => ({}), expect: AUDITORS },
  // bulk jobs: a dry run, and a batch revoke/renew by references to certificates of another CA, refuse the scoped
  // token up front (its CA limit); a batch download skips what it may not see; a job is its starter's only
  'bulk.issueCsv': {
    input: () => ({ ca: 'mx-issuing', csv: 'cn,sans\nbulk.matrix.example,bulk.matrix.example\n', dryRun: true }),
    expect: ISSUERS_ON_CA,
  },
  'bulk.revoke': {
    input: async (k) => ({ refs: [await k.freshLeaf()], reason: 'superseded' }),
    expect: ISSUERS_ON_CA,
  },
  'bulk.renew': { input: async (k) => ({ refs: [await k.freshLeaf()] }), expect: ISSUERS_ON_CA },
  'bulk.download': { input: (k) => ({ refs: [k.leafId] }), expect: READERS },
  'bulk.job': { input: () => ({ id: 'job_matrix_none' }), expect: '404 404 404 403 404 401' },
  'bulk.jobFile': { input: () => ({ id: 'job_matrix_none', file: 'results.csv' }), expect: '404 404 404 403 404 401' },
  'acme.directories': { expect: EVERYONE },
  'acme.enable': { input: async (k) => ({ ca: await k.freshCa(), profile: 'tls-server' }), expect: ADMIN_ONLY },
  'acme.disable': { input: async (k) => ({ ca: await k.freshAcmeCa() }), expect: ADMIN_ONLY },
  'acme.accounts': { input: () => ({ ca: 'mx-issuing' }), expect: '200 200 200 200 403 401' },
  // no ACME account exists: authorization first, then the admin learns it does not exist
  'acme.deactivateAccount': { input: () => ({ id: 'acct_matrix_none' }), expect: '404 403 403 403 403 401' },
  'acme.orders': { input: () => ({}), expect: EVERYONE },
  'acme.eabKeys': { input: () => ({}), expect: EVERYONE },
  'acme.createEabKey': { input: async (k) => ({ ca: await k.freshAcmeCa() }), expect: ADMIN_ONLY },
  'acme.revokeEabKey': { input: async (k) => ({ kid: await k.freshEabKey() }), expect: ADMIN_ONLY },
  'acme.events': { input: () => ({ limit: 5 }), expect: AUDITORS },
  // SSH registry (console pages): reads for ssh:read holders, changes for ssh:manage
  'ssh.listEnvironments': { expect: READERS },
  'ssh.trust': { input: () => ({}), expect: READERS },
  'ssh.listHosts': { input: () => ({}), expect: READERS },
  'ssh.hostAccounts': { input: async (k) => ({ host: await k.freshSshHost() }), expect: READERS },
  'ssh.hostBundle': { input: async (k) => ({ host: await k.freshSshHost() }), expect: READERS },
  'ssh.listUsers': { expect: READERS },
  'ssh.listPrincipals': { expect: READERS },
  'ssh.listBlocks': { expect: READERS },
  'ssh.rotateCa': { input: async (k) => ({ environment: await k.freshSshEnv(), type: 'user' }), expect: ADMIN_ONLY },
  'ssh.retireExpiredCas': { expect: ADMIN_ONLY },
  'ssh.createEnvironment': { input: () => ({ name: `mx-env-${seq()}` }), expect: ADMIN_ONLY },
  'ssh.addHost': { input: () => ({ name: `mx-host-${seq()}.example` }), expect: ADMIN_ONLY },
  'ssh.mapAccount': {
    input: async (k) => ({ host: await k.freshSshHost(), account: 'deploy', principal: 'mx-principal' }),
    expect: ADMIN_ONLY,
  },
  'ssh.unmapAccount': {
    input: async (k) => {
      const host = await k.freshSshHost();
      return { host, account: 'root', principal: 'mx-principal' };
    },
    expect: ADMIN_ONLY,
  },
  'ssh.addUser': { input: () => ({ name: `mx-user-${seq()}` }), expect: ADMIN_ONLY },
  'ssh.setUserDisabled': { input: async (k) => ({ name: await k.freshSshUser(), disabled: true }), expect: ADMIN_ONLY },
  'ssh.addPrincipal': { input: () => ({ name: `mx-principal-${seq()}` }), expect: ADMIN_ONLY },
  'ssh.grant': {
    input: async (k) => ({ user: await k.freshSshUser(), principal: 'mx-other-principal' }),
    expect: ADMIN_ONLY,
  },
  'ssh.ungrant': {
    input: async (k) => ({ user: await k.freshSshUser(), principal: 'mx-principal' }),
    expect: ADMIN_ONLY,
  },
  'ssh.block': { input: async (k) => ({ user: await k.freshSshUser(), reason: 'matrix' }), expect: ADMIN_ONLY },
  'ssh.unblock': { input: async (k) => ({ id: await k.freshSshBlock() }), expect: ADMIN_ONLY },
  // Vault mounts and roles (console): reads for ca:read holders, changes for ca:write; a role's certificates are
  // certificate reads
  'vault.mounts.list': { expect: EVERYONE },
  'vault.mounts.bind': { input: () => ({ path: `mx-mount-${seq()}`, ca: 'mx-issuing' }), expect: ADMIN_ONLY },
  'vault.mounts.unbind': { input: async (k) => ({ path: await k.freshVaultMount() }), expect: ADMIN_ONLY },
  'vault.roles.list': { input: () => ({ mount: 'mx-pki' }), expect: EVERYONE },
  'vault.roles.create': {
    input: () => ({ mount: 'mx-pki', name: `mx-role-${seq()}`, policy: { allowed_domains: ['matrix.example'] } }),
    expect: ADMIN_ONLY,
  },
  'vault.roles.update': {
    input: async (k) => ({ mount: await k.freshVaultMount(), name: 'web', policy: { max_ttl: '24h' } }),
    expect: ADMIN_ONLY,
  },
  'vault.roles.delete': { input: async (k) => ({ mount: await k.freshVaultMount(), name: 'web' }), expect: ADMIN_ONLY },
  'vault.roles.certificates': { input: () => ({ mount: 'mx-pki', role: 'web' }), expect: READERS },
  'vault.keystores': { input: () => ({}), expect: READERS },
};

interface RestRow {
  url: (k: Kit) => string | Promise<string>;
  body?: (k: Kit) => unknown;
  /** a twin: url and body come from one input (one fresh victim per call) */
  call?: (k: Kit) => Promise<RestCall>;
  expect: Expect;
}

const REST: Record<string, RestRow> = {
  'GET /api/v1/cas': { url: () => '/api/v1/cas', expect: EVERYONE },
  'GET /api/v1/cas/:id': { url: (k) => `/api/v1/cas/${k.issuingId}`, expect: EVERYONE },
  'GET /api/v1/cas/:id/bundle': { url: () => '/api/v1/cas/mx-issuing/bundle', expect: EVERYONE },
  'PUT /api/v1/cas/:id/urls': {
    url: async (k) => `/api/v1/cas/${await k.freshCa()}/urls`,
    body: () => ({ base: 'https://pki.matrix.example' }),
    expect: ADMIN_ONLY,
  },
  'POST /api/v1/cas/:id/sign': {
    url: () => '/api/v1/cas/mx-issuing/sign',
    body: (k) => ({ csr: k.csrPem, profile: 'tls-server' }),
    expect: '201 201 403 403 403 401',
  },
  'GET /api/v1/certificates': { url: () => '/api/v1/certificates?ca=mx-issuing&limit=5', expect: READERS },
  'GET /api/v1/certificates/:ref': { url: (k) => `/api/v1/certificates/${k.leafId}`, expect: READERS_OF_CA },
  // every principal gets a report: readers of their CAs' certificates, a requester of its own requests' only
  'GET /api/v1/certificates/export': { url: () => '/api/v1/certificates/export?ca=mx-issuing', expect: EVERYONE },
  'POST /api/v1/certificates/:ref/revoke': {
    url: async (k) => `/api/v1/certificates/${await k.freshLeaf()}/revoke`,
    body: () => ({ reason: 'keyCompromise' }),
    expect: ISSUERS_ON_CA,
  },
  'POST /api/v1/certificates/revoke': {
    url: () => '/api/v1/certificates/revoke',
    body: async (k) => ({ certificatePem: await k.freshLeafPem(), reason: 'keyCompromise' }),
    expect: ISSUERS_ON_CA,
  },
  'POST /api/v1/requests': {
    url: () => '/api/v1/requests',
    body: (k) => ({ ca: 'mx-issuing', csr: k.csrPem, profile: 'tls-server', ttl: '30d' }),
    expect: '201 201 403 201 403 401',
  },
  'GET /api/v1/requests': { url: () => '/api/v1/requests', expect: EVERYONE },
  'GET /api/v1/requests/:id': { url: (k) => `/api/v1/requests/${k.requestId}`, expect: '200 200 200 200 404 401' },
  'POST /api/v1/requests/:id/approve': {
    url: async (k) => `/api/v1/requests/${await k.freshRequest()}/approve`,
    expect: ISSUERS_ON_CA,
  },
  'POST /api/v1/requests/:id/reject': {
    url: async (k) => `/api/v1/requests/${await k.freshRequest()}/reject`,
    body: () => ({ reason: 'matrix' }),
    expect: '200 200 403 403 404 401',
  },
  'GET /api/v1/requests/:id/certificate': {
    url: (k) => `/api/v1/requests/${k.issuedRequestId}/certificate`,
    expect: '200 200 200 200 404 401',
  },
  'POST /api/v1/ssh/sign': {
    url: () => '/api/v1/ssh/sign',
    body: (k) => ({ ca: 'mx-ssh-users', publicKey: k.sshPub, principals: ['deploy'], ttl: '1h' }),
    expect: ISSUERS_ON_CA,
  },
  'POST /api/v1/ssh/revoke': {
    url: () => '/api/v1/ssh/revoke',
    body: async (k) => ({ ca: 'mx-ssh-users', serial: await k.freshSshSerial() }),
    expect: ISSUERS_ON_CA,
  },
  'POST /api/v1/certificates/:ref/export': {
    url: (k) => `/api/v1/certificates/${k.leafId}/export`,
    body: () => ({ format: 'der' }),
    expect: '200 200 200 403 403 401',
  },
  'POST /api/v1/certificates/:ref/renew': {
    url: async (k) => `/api/v1/certificates/${await k.freshLeaf()}/renew`,
    body: () => ({ revokeOld: true }),
    expect: '201 201 403 403 403 401',
  },
  'POST /api/v1/cas/:id/truststore': {
    url: () => '/api/v1/cas/mx-issuing/truststore',
    body: () => ({ format: 'pem' }),
    expect: EVERYONE,
  },
  'GET /api/v1/openapi.json': { url: () => '/api/v1/openapi.json', expect: PUBLIC },
  'GET /api/docs': { url: () => '/api/docs', expect: PUBLIC },
  'GET /api/docs/:file': { url: () => '/api/docs/swagger-ui.css', expect: PUBLIC },
};

// every REST twin without a row of its own: the tRPC row's input through restCallFor, the same expectations (201 for
// the twins that create)
for (const [name, twin] of Object.entries(REST_TWINS) as [RestTwinName, RestTwin][]) {
  const key = `${twin.method} ${REST_PREFIX}${twin.path}`;
  const row = TRPC[name];
  if (REST[key] || !row) continue;
  REST[key] = {
    url: () => '',
    call: async (k) => restCallFor(name, (row.input ? await row.input(k) : undefined) as Record<string, unknown>),
    expect: row.expect.replace(/200/g, String(twin.status ?? 200)),
  };
}

/**
 * Routes outside the access table: public by design (relying party, health, trust bundles, KRLs) or with their
 * own credential (SSH fleet tokens, SPIFFE workload credentials, Vault tokens). One anonymous probe each.
 */
const OTHER: Record<string, { url: (k: Kit) => string; body?: unknown; status: number; writes?: string[] }> = {
  'GET /healthz': { url: () => '/healthz', status: 200 },
  'GET /readyz': { url: () => '/readyz', status: 200 },
  'GET /metrics': { url: () => '/metrics', status: 200 },
  // Fastify's route tree prints the two CRL routes as one parametric node (`:file|:ca`): the full CRL and a partition
  'GET /crl/:file|:ca': {
    url: (k) => `/crl/${k.issuingId}.crl`,
    status: 200,
    // a CRL is generated on demand when none is current: its number and the crl.generated event (nothing else)
    writes: ['audit_events', 'certificate_authorities'],
  },
  // a CRL partition (docs/crl.md); this CA is under PKIM_CRL_PARTITION_ABOVE and publishes none: 404, nothing written
  'GET /crl/:file|:ca/:file': { url: (k) => `/crl/${k.issuingId}/0-604800.crl`, status: 404 },
  'GET /aia/:file': { url: (k) => `/aia/${k.issuingId}.crt`, status: 200 },
  'POST /ocsp': { url: () => '/ocsp', body: 'not an OCSP request', status: 200 },
  'GET /ocsp/*': { url: () => '/ocsp/MAMCAQA%3D', status: 200 },
  'GET /ssh/krl/ca/:ca': { url: () => '/ssh/krl/ca/mx-ssh-users', status: 200 },
  'GET /ssh/krl/:environment/hosts/:host': { url: () => '/ssh/krl/default/hosts/web1', status: 404 },
  'GET /ssh/trust/:environment/:file': { url: () => '/ssh/trust/default/user-ca-keys', status: 200 },
  'POST /ssh/fleet/sign': { url: () => '/ssh/fleet/sign', body: { type: 'host', publicKey: 'x' }, status: 401 },
  'GET /pki/ca/bundle': { url: () => '/pki/ca/bundle', status: 503 },
  // OIDC sign-in (not configured here): the sign-in page's question, and the flow's routes refusing or redirecting
  'GET /auth/oidc/config': { url: () => '/auth/oidc/config', status: 200 },
  'GET /auth/oidc/login': { url: () => '/auth/oidc/login', status: 404 },
  'GET /auth/oidc/callback': { url: () => '/auth/oidc/callback?code=x&state=y', status: 200 },
  'GET /auth/oidc/logout': { url: () => '/auth/oidc/logout', status: 302 },
  'GET /auth/csrf': { url: () => '/auth/csrf', status: 401 },
  'POST /pki/csr/sign': { url: () => '/pki/csr/sign', body: { csrPem: 'x' }, status: 401 },
  // ACME: JWS account keys, per directory; the issuing CA has no ACME directory here → 404, nothing written
  'GET /acme/:dir/directory': { url: (k) => `/acme/${k.issuingId}/directory`, status: 404 },
  'GET /acme/:dir/new-nonce': { url: (k) => `/acme/${k.issuingId}/new-nonce`, status: 404 },
  'GET /acme/:dir/renewal-info/:certId': { url: (k) => `/acme/${k.issuingId}/renewal-info/a.b`, status: 404 },
  'POST /acme/:dir/new-account': { url: (k) => `/acme/${k.issuingId}/new-account`, body: {}, status: 404 },
  'POST /acme/:dir/new-order': { url: (k) => `/acme/${k.issuingId}/new-order`, body: {}, status: 404 },
  'POST /acme/:dir/revoke-cert': { url: (k) => `/acme/${k.issuingId}/revoke-cert`, body: {}, status: 404 },
  'POST /acme/:dir/key-change': { url: (k) => `/acme/${k.issuingId}/key-change`, body: {}, status: 404 },
  'POST /acme/:dir/acct/:id': { url: (k) => `/acme/${k.issuingId}/acct/x1`, body: {}, status: 404 },
  'POST /acme/:dir/acct/:id/orders': { url: (k) => `/acme/${k.issuingId}/acct/x1/orders`, body: {}, status: 404 },
  'POST /acme/:dir/order/:id': { url: (k) => `/acme/${k.issuingId}/order/x1`, body: {}, status: 404 },
  'POST /acme/:dir/order/:id/finalize': { url: (k) => `/acme/${k.issuingId}/order/x1/finalize`, body: {}, status: 404 },
  'POST /acme/:dir/authz/:id': { url: (k) => `/acme/${k.issuingId}/authz/x1`, body: {}, status: 404 },
  'POST /acme/:dir/chall/:id/:type': { url: (k) => `/acme/${k.issuingId}/chall/x1/http-01`, body: {}, status: 404 },
  'POST /acme/:dir/cert/:id': { url: (k) => `/acme/${k.issuingId}/cert/x1`, body: {}, status: 404 },
};

let counter = 0;
const seq = () => ++counter;

/** `METHOD /path` of every route of the running app, read from Fastify's route tree (HEAD routes omitted). */
function routesOf(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const m = /^([\s│├└─]*)([^\s(]+)(?: \(([^)]*)\))?\s*$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack[depth] = m[2]!;
    const path = stack.slice(1).join('');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()))
      if (method && method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out.sort();
}

function procedures(): Record<string, 'query' | 'mutation'> {
  const procs = (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def
    .procedures;
  return Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p._def.type as 'query' | 'mutation']));
}

/** table → SHA-256 of its rows (see the exclusions at the top of the file) */
const digest = sqliteDigest;

interface OpenApiOperation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> } | undefined>;
}
const addFormats = addFormatsModule as unknown as (a: Ajv2020) => Ajv2020;

const expected = (e: Expect) => e.split(' ').map(Number);

/** which half of a list a test file walks: 0 the 1st, 3rd, 5th … entry, 1 the 2nd, 4th … */
export type Half = 0 | 1;
const halfOf = <T>(list: T[], half: Half) => list.filter((_, i) => i % 2 === half);
// user.logout ends the caller's session: it runs last (and each session logs in again)
const TRPC_ORDER = Object.keys(TRPC).sort((x, y) => Number(x === 'user.logout') - Number(y === 'user.logout'));
/** the tRPC procedures of one half (user.logout last in its half) */
export const trpcKeys = (half: Half) => halfOf(TRPC_ORDER, half);
/** the REST routes (`METHOD /path`) of one half */
export const restKeys = (half: Half) => halfOf(Object.keys(REST), half);
/** the routes outside the access table (one anonymous probe each) */
export const otherKeys = () => Object.keys(OTHER);
/** the REST routes whose answer to the admin is checked against the OpenAPI document */
const specChecked = (key: string) => key.includes(' /api/v1/') && key !== 'GET /api/v1/openapi.json';
/** `METHOD /api/v1/…/:param` → the OpenAPI operation `METHOD /api/v1/…/{param}` */
const operationOf = (key: string) => key.replace(/:([A-Za-z_]\w*)/g, '{$1}');

export function authorizationMatrix() {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let db: Database.Database;
  let kit: Kit;
  const sshDir = makeTempDir('pkim-matrix-ssh-');
  const sessions = {} as Record<SessionRole, { cookie: string; csrf: string }>;
  let scopedToken = '';
  let vaultMount = '';
  let base = '';
  let spec: Record<string, unknown> & { paths: Record<string, Record<string, OpenApiOperation>> };
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const walked = new Set<string>();

  /** the answer of `METHOD /api/v1/…:param` against the response the dereferenced OpenAPI document declares */
  function checkAgainstSpec(key: string, r: { statusCode: number; body: string; type: string }) {
    const [method, route] = key.split(' ') as [string, string];
    const path = route.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    const op = spec.paths[path]?.[method.toLowerCase()];
    expect(op, `${key} is in the OpenAPI document`).toBeDefined();
    const response = op!.responses[String(r.statusCode)] ?? op!.responses.default;
    expect(response, `${key}: status ${r.statusCode} is documented`).toBeDefined();
    const mediaType = r.type.split(';')[0]!.trim();
    const declared = response!.content ?? {};
    const json = mediaType === 'application/json';
    if (!json) {
      // a file download: one of the declared media types (or any, when the operation declares octet-stream)
      const types = Object.keys(declared);
      expect(types.includes(mediaType) || types.includes('application/octet-stream'), `${key}: ${mediaType}`).toBe(
        true,
      );
    } else {
      const schema = declared['application/json']?.schema;
      expect(schema, `${key}: a JSON schema for ${r.statusCode}`).toBeDefined();
      const validate = ajv.compile(schema as object);
      const ok = validate(JSON.parse(r.body));
      expect(ok, `${key} → ${r.statusCode}: ${ajv.errorsText(validate.errors)} in ${r.body.slice(0, 400)}`).toBe(true);
    }
    walked.add(`${method} ${path}`);
  }

  async function login(role: SessionRole) {
    const r = await app.inject({
      method: 'POST',
      url: '/trpc/user.login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: `mx-${role}`, password: PASSWORD }),
    });
    expect(r.statusCode, r.body).toBe(200);
    const cookie = r.cookies.find((c) => c.name === 'pkim_session')!;
    sessions[role] = { cookie: `pkim_session=${cookie.value}`, csrf: JSON.parse(r.body).result.data.csrfToken };
  }

  function headersFor(p: Principal, method: string): Record<string, string> {
    if (p === 'anonymous') return {};
    if (p === 'scoped') return { authorization: `Bearer ${scopedToken}` };
    const s = sessions[p];
    return method === 'GET' ? { cookie: s.cookie } : { cookie: s.cookie, 'x-csrf-token': s.csrf };
  }

  async function open() {
    fx = await openAuthorityFixture({ auth: { scrypt: FAST_SCRYPT } });
    const a = fx.authority;
    const admin = ACTORS.admin;
    // the CAs the matrix reads and issues from: made and checked by openssl (chain, key type, pathlen) in ca-kit
    const root = await createRootCa(a, 'mx-root', { subject: { commonName: 'Matrix Root CA' } });
    const issuing = await createIssuingCa(a, root, 'mx-issuing', {
      subject: { commonName: 'Matrix mx-issuing' },
      pathLen: 0,
    });
    await createIssuingCa(a, root, 'mx-other', { subject: { commonName: 'Matrix mx-other' }, pathLen: 0 });
    // the throwaway CAs each row revokes, disables, deletes or binds: dozens, so without ca-kit's openssl checks
    // (they doubled this file's time); each only has to exist
    const sub = async (name: string) =>
      (
        await a.cas.create(
          { name, subject: { commonName: `Matrix ${name}` }, keyType: 'ec-p256', parentId: root.id, pathLen: 0 },
          admin,
        )
      ).ca;
    let requester: Actor | undefined;
    for (const role of SESSION_ROLES) {
      const u = await a.auth.createUser({ username: `mx-${role}`, password: PASSWORD, role }, admin);
      if (role === 'requester') requester = { id: u.id, name: u.username, role };
    }
    await a.auth.createUser({ username: 'mx-login', password: PASSWORD, role: 'auditor' }, admin);
    scopedToken = (
      await a.auth.createToken({ name: 'mx-scoped', role: 'operator', resources: { cas: ['mx-other'] } }, admin)
    ).token;
    const csrPem = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=csr.matrix.example',
      sans: ['DNS:csr.matrix.example'],
    }).csrPem;
    const issueLeaf = (name = 'leaf', validityMs?: number) =>
      a.issuance.issueWithKey(
        {
          caId: issuing.id,
          profile: 'tls-server',
          subject: { commonName: `${name}.matrix.example` },
          sans: { dns: [`${name}.matrix.example`] },
          keyType: 'ec-p256',
          validityMs,
        },
        admin,
      );
    const leaf = await issueLeaf();
    // the victims of certificate.delete: expired by the end of open() (a second later; awaited below if need be)
    const expiring = await Promise.all(Array.from({ length: 2 * PRINCIPALS.length }, () => issueLeaf('expired', 1000)));
    const expired = expiring.map((i) => i.certificate.id);
    const submit = async () =>
      (await a.requests.submit({ caId: issuing.id, csrPem, profile: 'tls-server' }, requester!)).id;
    await a.ssh.createCa({ name: 'mx-ssh-users', type: 'user', environment: 'default' }, admin);
    const sshPub = generateSshKey(sshDir.dir, 'matrix').pub;
    await a.ssh.addPrincipal({ name: 'mx-principal' }, admin);
    await a.ssh.addPrincipal({ name: 'mx-other-principal' }, admin);
    await a.vault.mounts.mount({ path: 'mx-pki', ca: issuing.id }, admin);
    await a.vault.mounts.writeRole('mx-pki', 'web', { allowed_domains: 'matrix.example' }, admin);
    vaultMount = 'mx-pki';
    kit = {
      rootId: root.id,
      issuingId: issuing.id,
      leafId: leaf.certificate.id,
      leafPem: leaf.certificatePem,
      csrPem,
      requestId: await submit(),
      issuedRequestId: await (async () => {
        const id = await submit();
        await a.requests.approve(id, admin);
        return id;
      })(),
      sshPub,
      freshCa: async () => (await sub(`mx-victim-${seq()}`)).id,
      freshRevokedRoot: async () => {
        const { ca } = await a.cas.create(
          { name: `mx-victim-${seq()}`, subject: { commonName: 'Matrix victim root' }, keyType: 'ec-p256' },
          admin,
        );
        await a.cas.revokeCa(ca.id, 'cessationOfOperation', admin);
        return ca.id;
      },
      freshRotatedRoot: async () => {
        const { ca } = await a.cas.create(
          { name: `mx-victim-${seq()}`, subject: { commonName: 'Matrix rotated root' }, keyType: 'ec-p256' },
          admin,
        );
        return (await a.cas.rotate(ca.id, { name: `mx-victim-${seq()}` }, admin)).ca.id;
      },
      freshPendingCa: async () => {
        const name = `mx-pending-${seq()}`;
        const { csrPem } = await a.cas.createExternalIntermediate(
          { name, subject: { commonName: `Matrix ${name}` }, keyType: 'ec-p256' },
          admin,
        );
        const outside = opensslSignCaCsr(csrPem);
        return { ref: name, certificate: outside.subPem, issuerCertificate: outside.rootPem };
      },
      freshLeaf: async () => (await issueLeaf()).certificate.id,
      freshLeafPem: async () => (await issueLeaf()).certificatePem,
      expiredLeaf: () => {
        const id = expired.shift();
        if (!id) throw new Error('no expired leaf left: issue more in open()');
        return id;
      },
      freshRequest: submit,
      freshUser: async () =>
        (await a.auth.createUser({ username: `mx-victim-${seq()}`, password: PASSWORD, role: 'requester' }, admin)).id,
      freshToken: async () => (await a.auth.createToken({ name: `mx-victim-${seq()}`, role: 'auditor' }, admin)).id,
      freshSshSerial: async () =>
        (await a.ssh.sign({ ca: 'mx-ssh-users', type: 'user', publicKey: sshPub, principals: ['x'] }, admin))
          .certificate.serial,
      freshFleetToken: async () =>
        (await a.ssh.createFleetToken({ name: `mx-fleet-victim-${seq()}`, operations: ['sign-host'] }, admin)).row.id,
      freshRule: async () =>
        (
          await a.notifications.createRule(
            { name: `mx-rule-${seq()}`, trigger: 'expiry', channel: 'webhook', target: 'https://h.example/' },
            admin,
          )
        ).id,
      freshProfile: async () =>
        (await a.profileCatalog.create({ ...MX_PROFILE, name: `mx-profile-victim-${seq()}` }, admin)).profile.name,
      freshAcmeCa: async () => {
        const id = (await sub(`mx-acme-${seq()}`)).id;
        await a.acme.enable({ ca: id, profile: 'tls-server' }, admin);
        return id;
      },
      freshSshEnv: async () => {
        const name = `mx-env-victim-${seq()}`;
        await a.ssh.createEnvironment({ name }, admin);
        await a.ssh.createCa({ name: `${name}-users`, type: 'user', environment: name }, admin);
        return name;
      },
      freshSshHost: async () => {
        const name = `mx-host-victim-${seq()}.example`;
        await a.ssh.addHost({ name }, admin);
        await a.ssh.mapAccount({ host: name, account: 'root', principal: 'mx-principal' }, admin);
        return name;
      },
      freshSshUser: async () => {
        const name = `mx-user-victim-${seq()}`;
        await a.ssh.addUser({ name }, admin);
        await a.ssh.grant({ user: name, principal: 'mx-principal' }, admin);
        return name;
      },
      freshSshBlock: async () => {
        const user = `mx-user-victim-${seq()}`;
        await a.ssh.addUser({ name: user }, admin);
        return (await a.ssh.block({ user, reason: 'matrix victim' }, admin)).id;
      },
      freshVaultMount: async () => {
        const path = `mx-victim-pki-${seq()}`;
        await a.vault.mounts.mount({ path, ca: issuing.id }, admin);
        await a.vault.mounts.writeRole(path, 'web', { allowed_domains: 'matrix.example' }, admin);
        return path;
      },
      freshEabKey: async () => {
        const id = (await sub(`mx-eab-${seq()}`)).id;
        await a.acme.enable({ ca: id, profile: 'tls-server' }, admin);
        return (await a.acme.createEabKey(id, admin)).kid;
      },
    };
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
    // the document the server publishes, valid OpenAPI 3.1, $refs resolved for the schema checks
    const published = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    await SwaggerParser.validate(structuredClone(published) as never);
    spec = (await SwaggerParser.dereference(structuredClone(published) as never)) as unknown as typeof spec;
    for (const role of SESSION_ROLES) await login(role);
    const lastExpiry = Math.max(...expiring.map((i) => i.certificate.notAfter));
    while (Date.now() <= lastExpiry) await new Promise((r) => setTimeout(r, lastExpiry + 1 - Date.now()));
    db = new Database(join(fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
  }
  async function close() {
    db?.close();
    await app?.close();
    await fx?.close();
    sshDir.cleanup();
  }

  function rowsAndTablesAgree() {
    const routes = routesOf(app);
    const api = routes.filter((r) => r.split(' ')[1]!.startsWith('/api/'));
    expect(api).toEqual(Object.keys(REST).sort());
    expect(Object.keys(ACCESS_TABLE.rest).sort()).toEqual(Object.keys(REST).sort());
    expect(Object.keys(procedures()).sort()).toEqual(Object.keys(TRPC).sort());
    expect(Object.keys(ACCESS_TABLE.trpc).sort()).toEqual(Object.keys(TRPC).sort());
    const rest = routes.filter((r) => {
      const path = r.split(' ')[1]!;
      return !path.startsWith('/api/') && path !== '/trpc/:path' && path !== '/v1/*';
    });
    expect(rest).toEqual(Object.keys(OTHER).sort());
    expect(routes.filter((r) => r.endsWith(' /v1/*')).length).toBeGreaterThan(0);
  }

  async function trpcRow(path: string) {
    const row = TRPC[path]!;
    const type = procedures()[path];
    const want = expected(row.expect);
    const got: string[] = [];
    for (const [i, p] of PRINCIPALS.entries()) {
      const input = row.input ? await row.input(kit) : undefined;
      const method = type === 'query' ? 'GET' : 'POST';
      const url =
        `/trpc/${path}` +
        (method === 'GET' && input !== undefined ? `?input=${encodeURIComponent(JSON.stringify(input))}` : '');
      await fx.authority.bulkJobs.idle(); // a job started by the previous principal ends first
      const before = digest(db);
      const r = await app.inject({
        method,
        url,
        headers: { ...headersFor(p, method), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST' ? { payload: JSON.stringify(input ?? null) } : {}),
      });
      const code = r.statusCode >= 400 ? (JSON.parse(r.body).error?.data?.pkiCode as string) : '';
      got.push(`${p}=${r.statusCode}${code ? `(${code})` : ''}`);
      if (r.statusCode !== want[i]) continue;
      if (r.statusCode === 401 || r.statusCode === 403) {
        expect(code, `${path} as ${p}`).toMatch(
          /^(auth\.unauthenticated|auth\.forbidden|provisioner\.ca_not_allowed)$/,
        );
        expect(digest(db), `${path} as ${p} refused, but the database changed`).toEqual(before);
      }
      if (path === 'user.logout' && p !== 'scoped' && p !== 'anonymous') await login(p);
    }
    expect(got.map((g) => g.replace(/\(.*\)/, '').split('=')[1]).join(' '), got.join(' ')).toBe(row.expect);
  }

  async function restRow(key: string) {
    const row = REST[key]!;
    const method = key.split(' ')[0]!;
    const want = expected(row.expect);
    const got: string[] = [];
    for (const [i, p] of PRINCIPALS.entries()) {
      const twinCall = row.call ? await row.call(kit) : undefined;
      const url = twinCall ? twinCall.url : await row.url(kit);
      const body = twinCall ? twinCall.body : row.body ? await row.body(kit) : undefined;
      await fx.authority.bulkJobs.idle(); // a job started by the previous principal ends first
      const before = digest(db);
      // over a socket: the running server, as a client sees it
      const res = await fetch(`${base}${url}`, {
        method,
        headers: { ...headersFor(p, method), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const r = { statusCode: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
      const code = r.statusCode >= 400 ? (JSON.parse(r.body).code as string) : '';
      got.push(`${p}=${r.statusCode}${code ? `(${code})` : ''}`);
      // the admin's answer, whatever its status, must be what the OpenAPI document says for that status
      if (p === 'admin' && specChecked(key)) {
        checkAgainstSpec(key, r);
      }
      if (r.statusCode !== want[i]) continue;
      if (r.statusCode === 401 || r.statusCode === 403) {
        expect(code, `${key} as ${p}`).toMatch(/^(auth\.unauthenticated|auth\.forbidden|provisioner\.ca_not_allowed)$/);
        expect(digest(db), `${key} as ${p} refused, but the database changed`).toEqual(before);
      }
    }
    expect(got.map((g) => g.replace(/\(.*\)/, '').split('=')[1]).join(' '), got.join(' ')).toBe(row.expect);
  }

  // The services re-check permissions (defense in depth), so a refusal above could come from either layer and a
  // wrong access-table entry would hide behind the service's check. The access check runs before the input is
  // parsed: a refused principal sending an input that cannot parse must still be refused by role (401/403), where a
  // principal the table wrongly lets through gets the 400 of the parser.
  const BY_ROLE = ['admin', 'operator', 'auditor', 'requester', 'anonymous'] as const;
  // open to every role by the table (`account:self`); whose password may change is the service's decision
  const SERVICE_DECIDES = new Set(['user.changePassword', 'PUT /api/v1/users/me/password']);
  const refusedByRole = (e: Expect) =>
    BY_ROLE.filter((p) => [401, 403].includes(expected(e)[PRINCIPALS.indexOf(p)]!)).map((p) => p as Principal);

  async function trpcRefusesBeforeParsing() {
    const wrong: string[] = [];
    const kinds = procedures();
    const before = digest(db);
    for (const [path, row] of Object.entries(TRPC)) {
      if (!row.input || SERVICE_DECIDES.has(path)) continue;
      for (const p of refusedByRole(row.expect)) {
        const method = kinds[path] === 'query' ? 'GET' : 'POST';
        const r = await app.inject({
          method,
          url: `/trpc/${path}` + (method === 'GET' ? `?input=${encodeURIComponent('12345')}` : ''),
          headers: { ...headersFor(p, method), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          ...(method === 'POST' ? { payload: '12345' } : {}),
        });
        if (r.statusCode !== 401 && r.statusCode !== 403) wrong.push(`${path} as ${p}: ${r.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(digest(db)).toEqual(before);
  }

  async function restRefusesBeforeParsing() {
    const wrong: string[] = [];
    const probes: { key: string; method: string; url: string; row: RestRow }[] = [];
    for (const [key, row] of Object.entries(REST)) {
      const method = key.split(' ')[0]!;
      // the real URL of the route (a twin's path parameters come from its input: fresh victims, made before the digest)
      const twinCall = row.call ? await row.call(kit) : undefined;
      const body = twinCall ? twinCall.body : row.body ? await row.body(kit) : undefined;
      if (body === undefined || SERVICE_DECIDES.has(key)) continue;
      probes.push({ key, method, url: twinCall ? twinCall.url : await row.url(kit), row });
    }
    const before = digest(db);
    for (const { key, method, url, row } of probes) {
      for (const p of refusedByRole(row.expect)) {
        const res = await fetch(`${base}${url}`, {
          method,
          headers: { ...headersFor(p, method), 'content-type': 'application/json' },
          body: '12345',
        });
        await res.arrayBuffer();
        if (res.status !== 401 && res.status !== 403) wrong.push(`${key} as ${p}: ${res.status}`);
      }
    }
    expect(probes.length).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
    expect(digest(db)).toEqual(before);
  }

  function walkedOpenApi(half: Half) {
    const operations = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    // + bundle, sign, ssh sign/revoke, certificates/export
    expect(operations.length).toBe(Object.keys(REST_TWINS).length + 5);
    // the two halves' files together walk every operation: each walked exactly the operations of its routes
    expect(Object.keys(REST).filter(specChecked).map(operationOf).sort()).toEqual(operations.sort());
    expect([...walked].sort()).toEqual(restKeys(half).filter(specChecked).map(operationOf).sort());
  }

  async function anonymousProbe(key: string) {
    const probe = OTHER[key]!;
    const before = digest(db);
    const body = probe.body;
    const r = await app.inject({
      method: key.split(' ')[0] as 'GET',
      url: probe.url(kit),
      ...(body === undefined
        ? {}
        : typeof body === 'string'
          ? { headers: { 'content-type': 'application/ocsp-request' }, payload: body }
          : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }),
    });
    expect(r.statusCode, r.body.slice(0, 300)).toBe(probe.status);
    const after = digest(db);
    const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
    expect(changed.filter((t) => !probe.writes?.includes(t))).toEqual([]);
  }

  async function vaultRefusesAnonymous() {
    const METHOD: Record<VaultOp, string> = {
      read: 'GET',
      list: 'GET',
      write: 'POST',
      delete: 'DELETE',
      patch: 'PATCH',
    };
    const concrete = (pattern: string) => pattern.replace(/:[a-z_]+/g, 'x').replace(/\*/g, vaultMount);
    const calls = [
      ...SYSTEM_ROUTES.map((r) => ({ route: r, path: concrete(r.path) })),
      ...MOUNT_ROUTES.map((r) => ({ route: r, path: `${vaultMount}/${concrete(r.path)}` })),
    ].filter((c) => c.route.auth !== false);
    expect(calls.length).toBeGreaterThan(10);
    const wrong: string[] = [];
    const before = digest(db);
    for (const { route, path } of calls) {
      for (const op of Object.keys(route.ops) as VaultOp[]) {
        const r = await app.inject({
          method: METHOD[op] as 'GET',
          url: `/v1/${path}${op === 'list' ? '?list=true' : ''}`,
          ...(op === 'write' || op === 'patch'
            ? { headers: { 'content-type': 'application/json' }, payload: '{"common_name":"x.example"}' }
            : {}),
        });
        if (r.statusCode !== 403 || !r.body.includes('permission denied')) wrong.push(`${op} ${path}: ${r.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(digest(db)).toEqual(before);
  }

  return {
    open,
    close,
    rowsAndTablesAgree,
    trpcRow,
    restRow,
    trpcRefusesBeforeParsing,
    restRefusesBeforeParsing,
    walkedOpenApi,
    anonymousProbe,
    vaultRefusesAnonymous,
  };
}
