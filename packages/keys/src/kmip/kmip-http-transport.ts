/**
 * Cosmian KMS transport: JSON TTLV over HTTP(S), `POST <url>/kmip/2_1`.
 * 200 → JSON TTLV body; 401/403 → kms.auth_failed; 422 (plain-text KMIP error) → mapped ResultReason;
 * 429/5xx → kms.unavailable (retryable); socket errors → kms.unavailable; deadline → kms.timeout.
 */
import http from 'node:http';
import https from 'node:https';
import { PkiError } from '@pkim/shared';
import { parseJsonTtlv, stringifyJsonTtlv } from './kmip-json-codec';
import { httpStatusError, networkError, timeoutError } from './kmip-errors';
import type { KmipRoundTripOptions, KmipTransport } from './kmip-transport';
import type { TtlvNode } from './kmip-ttlv';

export interface KmipHttpTransportOptions {
  /** Base URL of the KMS, e.g. `http://127.0.0.1:9998` (a trailing path prefix is kept). */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Extra trust anchors (PEM) for https. */
  caPem?: string;
  /** Client certificate + key (PEM) for mutual TLS, when the KMS authenticates by certificate. */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Endpoint path, default `/kmip/2_1`. */
  path?: string;
}

const MAX_BODY = 16 * 1024 * 1024;

export function createKmipHttpTransport(opts: KmipHttpTransportOptions): KmipTransport {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new PkiError('kms.config_invalid', `KMIP: invalid URL ${opts.url}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new PkiError('kms.config_invalid', `KMIP HTTP transport needs an http(s) URL, got ${base.protocol}`);
  }
  const secure = base.protocol === 'https:';
  const endpoint = new URL(base.href.replace(/\/+$/, '') + (opts.path ?? '/kmip/2_1'));
  const port = base.port || (secure ? '443' : '80');
  const server = `${base.hostname}:${port}`;
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        ...(opts.caPem ? { ca: opts.caPem } : {}),
        ...(opts.clientCertPem ? { cert: opts.clientCertPem } : {}),
        ...(opts.clientKeyPem ? { key: opts.clientKeyPem } : {}),
      })
    : new http.Agent({ keepAlive: true });

  function roundTrip(request: TtlvNode, { operation, timeoutMs }: KmipRoundTripOptions): Promise<TtlvNode> {
    const body = Buffer.from(stringifyJsonTtlv(request), 'utf8');
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'content-length': body.length,
    };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    return new Promise<TtlvNode>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = (secure ? https : http).request(endpoint, { method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new Error('KMIP response too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => finish(() => reject(networkError(operation, e))));
        res.on('end', () =>
          finish(() => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              reject(httpStatusError(operation, status, text));
              return;
            }
            try {
              resolve(parseJsonTtlv(text));
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          }),
        );
      });
      const timer = setTimeout(() => {
        finish(() => reject(timeoutError(operation, timeoutMs)));
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => finish(() => reject(networkError(operation, e))));
      req.end(body);
    });
  }

  return {
    kind: 'http-json',
    server,
    roundTrip,
    async close() {
      agent.destroy();
    },
  };
}
