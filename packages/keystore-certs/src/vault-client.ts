import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { PkiError } from '@pkim/shared';

/** How the client authenticates to the Vault-compatible PKI (PKI Manager's /v1/ or OpenBao/Vault). */
export type VaultAuth =
  | { method: 'token'; token: string }
  /** Kubernetes service-account login; `jwtFile` is re-read on every login (projected tokens rotate) */
  | { method: 'kubernetes'; role: string; jwt?: string; jwtFile?: string; mount?: string }
  | { method: 'approle'; roleId: string; secretId: string; mount?: string };

export interface VaultClientOptions {
  /** e.g. https://openbao-pki-service.platform-services.svc:8200 or http://127.0.0.1:8200 */
  address: string;
  /** absent: every authenticated call fails with a clear error (unauthenticated calls still work) */
  auth?: VaultAuth;
  /** X-Vault-Namespace (OpenBao/Vault Enterprise); omitted when empty */
  namespace?: string;
  /** PEM the client trusts for an https address (default: system roots) */
  caPem?: string;
  /** per request (no answer for this long), default 120 s: a server generating an RSA-4096 key under load is slow */
  timeoutMs?: number;
}

export interface VaultIssued {
  certificate: string;
  issuing_ca: string;
  ca_chain: string[];
  private_key: string;
  private_key_type: string;
  serial_number: string;
  expiration: number;
}

interface RawResponse {
  status: number;
  body: string;
}

/**
 * The few Vault PKI calls the keystore lifecycle needs, over plain HTTP(S) with Vault's shapes, so the same client
 * works against PKI Manager (`pkim serve`, /v1/) and against OpenBao/Vault. Logins are renewed when their lease ends
 * or when the server answers 403.
 */
export function createVaultClient(opts: VaultClientOptions) {
  const base = new URL(opts.address.replace(/\/+$/, '') + '/');
  if (!/^https?:$/.test(base.protocol)) {
    throw new PkiError('keystore.invalid_input', `Vault address must be http(s)://…, got ${opts.address}`);
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  // one connection per request: a kept-alive socket the server closes while idle makes the NEXT request (an issue,
  // not safe to repeat blindly) fail with "socket hang up"; certificate operations are rare enough not to need reuse
  const agent =
    base.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: false, ...(opts.caPem ? { ca: opts.caPem } : {}) })
      : new HttpAgent({ keepAlive: false });
  let token: string | undefined = opts.auth?.method === 'token' ? opts.auth.token : undefined;
  let tokenExpiresAt = Number.POSITIVE_INFINITY;

  function send(method: string, path: string, body: unknown, withToken: string | undefined): Promise<RawResponse> {
    const url = new URL(`v1/${path}`, base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (withToken) headers['x-vault-token'] = withToken;
    if (opts.namespace) headers['x-vault-namespace'] = opts.namespace;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, timeout: timeoutMs, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) =>
        reject(
          new PkiError('keystore.vault_error', `Vault ${method} ${path}: ${e.message}`, { retryable: true, cause: e }),
        ),
      );
      req.end(payload);
    });
  }

  function fail(method: string, path: string, r: RawResponse): never {
    let message = '';
    try {
      const errors = (JSON.parse(r.body) as { errors?: unknown[] }).errors;
      message = errors?.length ? String(errors[0]) : '';
    } catch {
      message = r.body.slice(0, 200);
    }
    const text = `Vault ${method} ${path}: ${r.status}${message ? ` ${message}` : ''}`;
    if (r.status === 403) throw new PkiError('keystore.vault_denied', text);
    throw new PkiError('keystore.vault_error', text, { retryable: r.status >= 500 || r.status === 429 });
  }

  async function login(): Promise<string> {
    const a = opts.auth;
    if (!a) {
      throw new PkiError(
        'keystore.invalid_input',
        'no Vault credentials: give a token (--vault-token / VAULT_TOKEN), a Kubernetes role or an AppRole',
      );
    }
    if (a.method === 'token') return a.token;
    let path: string;
    let body: Record<string, string>;
    if (a.method === 'kubernetes') {
      const jwt = a.jwt ?? (a.jwtFile ? readFileSync(a.jwtFile, 'utf8').trim() : '');
      if (!jwt) throw new PkiError('keystore.invalid_input', 'kubernetes login needs a service-account JWT');
      path = `auth/${a.mount ?? 'kubernetes'}/login`;
      body = { role: a.role, jwt };
    } else {
      path = `auth/${a.mount ?? 'approle'}/login`;
      body = { role_id: a.roleId, secret_id: a.secretId };
    }
    const r = await send('POST', path, body, undefined);
    if (r.status !== 200) fail('POST', path, r);
    const auth = (JSON.parse(r.body) as { auth?: { client_token?: string; lease_duration?: number } }).auth;
    if (!auth?.client_token) throw new PkiError('keystore.vault_error', `Vault POST ${path}: no client_token`);
    // renew a little before the lease ends
    const lease = auth.lease_duration ?? 0;
    tokenExpiresAt = lease > 0 ? Date.now() + lease * 1000 * 0.9 : Number.POSITIVE_INFINITY;
    token = auth.client_token;
    return token;
  }

  async function call(method: string, path: string, body?: unknown): Promise<RawResponse> {
    if (!token || Date.now() >= tokenExpiresAt) await login();
    let r = await send(method, path, body, token);
    if (r.status === 403 && opts.auth && opts.auth.method !== 'token') {
      await login();
      r = await send(method, path, body, token);
    }
    return r;
  }

  async function json(method: string, path: string, body?: unknown): Promise<{ data?: Record<string, unknown> }> {
    const r = await call(method, path, body);
    if (r.status !== 200) fail(method, path, r);
    return JSON.parse(r.body) as { data?: Record<string, unknown> };
  }

  const mountPath = (mount: string) => mount.replace(/^\/+|\/+$/g, '');

  return {
    address: base.toString().replace(/\/$/, ''),
    login,
    /** closes open connections */
    close(): void {
      agent.destroy();
    },
    async health(): Promise<{ initialized: boolean; sealed: boolean }> {
      const r = await send('GET', 'sys/health', undefined, undefined);
      return JSON.parse(r.body) as { initialized: boolean; sealed: boolean };
    },
    /** the role the templates issue through; undefined when it does not exist */
    async readRole(mount: string, role: string): Promise<Record<string, unknown> | undefined> {
      const r = await call('GET', `${mountPath(mount)}/roles/${encodeURIComponent(role)}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) fail('GET', `${mountPath(mount)}/roles/${role}`, r);
      return (JSON.parse(r.body) as { data: Record<string, unknown> }).data;
    },
    async writeRole(mount: string, role: string, params: Record<string, unknown>): Promise<void> {
      const path = `${mountPath(mount)}/roles/${encodeURIComponent(role)}`;
      const r = await call('POST', path, params);
      if (r.status !== 200 && r.status !== 204) fail('POST', path, r);
    },
    /** `POST <mount>/issue/<role>`: a key pair generated by the PKI, returned once */
    async issue(mount: string, role: string, params: Record<string, unknown>): Promise<VaultIssued> {
      const res = await json('POST', `${mountPath(mount)}/issue/${encodeURIComponent(role)}`, params);
      const d = res.data as unknown as VaultIssued | undefined;
      if (!d?.certificate || !d.private_key || !d.serial_number) {
        throw new PkiError('keystore.vault_error', 'Vault issue answered without certificate, private_key or serial');
      }
      return d;
    },
    async revoke(mount: string, serialNumber: string): Promise<{ revocationTime: number }> {
      const res = await json('POST', `${mountPath(mount)}/revoke`, { serial_number: serialNumber });
      return { revocationTime: Number(res.data?.revocation_time ?? 0) };
    },
    /** the mount CA's CRL as PEM (unauthenticated in Vault) */
    async crlPem(mount: string): Promise<string> {
      const r = await send('GET', `${mountPath(mount)}/crl/pem`, undefined, undefined);
      if (r.status !== 200) fail('GET', `${mountPath(mount)}/crl/pem`, r);
      return r.body;
    },
  };
}

export type VaultClient = ReturnType<typeof createVaultClient>;
