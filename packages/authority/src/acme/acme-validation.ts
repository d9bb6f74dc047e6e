import { createHash, X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { PkiError } from '@pkim/shared';
import { readCertificate } from '@pkim/core';
import { dnsTxtValue } from './acme-jws';

/** Where and how the server validates challenges (docs/acme.md). */
export interface AcmeValidationConfig {
  /** port of http-01 requests (RFC 8555: 80; `PKIM_ACME_HTTP01_PORT` for tests and non-standard setups) */
  http01Port: number;
  /** port of tls-alpn-01 handshakes (RFC 8737: 443; `PKIM_ACME_TLSALPN01_PORT`) */
  tlsAlpn01Port: number;
  /** DNS servers for dns-01 lookups (`PKIM_ACME_DNS_RESOLVERS`, `host[:port]` comma-separated); default: system */
  dnsResolvers?: string[];
  /** per-attempt timeout (default 10 s) */
  timeoutMs: number;
  /**
   * attempts per challenge (RFC 8555 §8.2: the server may retry; default 3, `PKIM_ACME_VALIDATION_ATTEMPTS`): the
   * challenge stays `processing` and its authorization `pending` until one succeeds or the last one fails
   */
  attempts?: number;
  /** wait before the second attempt, doubled before each further one (default 2 s, `PKIM_ACME_VALIDATION_RETRY_MS`) */
  retryDelayMs?: number;
  /**
   * a valid authorization of the same account and identifier validated at most this long ago is reused by a new
   * order instead of asking for a new challenge (default 24 h, `PKIM_ACME_AUTHZ_REUSE_MS`; 0 = never)
   */
  authzReuseMs?: number;
}

export interface ChallengeTarget {
  type: 'dns' | 'ip';
  /** the identifier without `*.` */
  value: string;
}

const fail = (code: string, m: string) => new PkiError(code, m);
const MAX_BODY = 64 * 1024;

/** RFC 8555 §8.3: GET http://<name>:<port>/.well-known/acme-challenge/<token> must answer the key authorization. */
export function validateHttp01(
  t: ChallengeTarget,
  token: string,
  keyAuthorization: string,
  cfg: AcmeValidationConfig,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const host = t.type === 'ip' && isIP(t.value) === 6 ? `[${t.value}]` : t.value;
    const url = `http://${host}:${cfg.http01Port}/.well-known/acme-challenge/${token}`;
    const req = httpRequest(
      url,
      { method: 'GET', timeout: cfg.timeoutMs, headers: { 'user-agent': 'pkim-acme-validator', accept: '*/*' } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy();
            reject(fail('acme.incorrect_response', `${url}: the response is larger than ${MAX_BODY} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(fail('acme.incorrect_response', `${url} answered HTTP ${res.statusCode}, not 200`));
            return;
          }
          const body = Buffer.concat(chunks).toString('utf8').trim();
          if (body !== keyAuthorization) {
            reject(
              fail('acme.incorrect_response', `${url}: the response does not match the expected key authorization`),
            );
            return;
          }
          resolve();
        });
        res.on('error', (e) => reject(fail('acme.connection', `${url}: ${e.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${cfg.timeoutMs} ms`)));
    req.on('error', (e) => reject(fail('acme.connection', `could not fetch ${url}: ${e.message}`)));
    req.end();
  });
}

/** RFC 8738 §6: the reverse-DNS name used as SNI for an IP identifier. */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl] : h;
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return `${Array.from(nibbles).reverse().join('.')}.ip6.arpa`;
}

const ACME_IDENTIFIER_OID = '1.3.6.1.5.5.7.1.31';

/** DER of the extnValue of the critical id-pe-acmeIdentifier extension: OCTET STRING (32 bytes of SHA-256). */
function expectedAcmeIdentifier(keyAuthorization: string): Buffer {
  return Buffer.concat([Buffer.from([0x04, 0x20]), createHash('sha256').update(keyAuthorization).digest()]);
}

/**
 * RFC 8737: a TLS handshake with ALPN `acme-tls/1` and SNI = the name must present a self-signed certificate
 * whose only SAN is the identifier and whose critical id-pe-acmeIdentifier holds SHA-256(key authorization).
 */
export function validateTlsAlpn01(t: ChallengeTarget, keyAuthorization: string, cfg: AcmeValidationConfig) {
  return new Promise<void>((resolve, reject) => {
    const servername = t.type === 'ip' ? reverseName(t.value) : t.value;
    const where = `${t.value}:${cfg.tlsAlpn01Port}`;
    const socket = tlsConnect({
      host: t.value,
      port: cfg.tlsAlpn01Port,
      servername,
      ALPNProtocols: ['acme-tls/1'],
      rejectUnauthorized: false,
      timeout: cfg.timeoutMs,
    });
    const done = (e?: PkiError) => {
      socket.destroy();
      if (e) reject(e);
      else resolve();
    };
    socket.on('timeout', () => done(fail('acme.connection', `${where}: no TLS handshake within ${cfg.timeoutMs} ms`)));
    socket.on('error', (e: Error) => done(fail('acme.tls', `${where}: TLS handshake failed: ${e.message}`)));
    socket.on('secureConnect', () => {
      if (socket.alpnProtocol !== 'acme-tls/1') {
        done(fail('acme.tls', `${where} did not negotiate the acme-tls/1 protocol`));
        return;
      }
      const peer = socket.getPeerCertificate(false);
      if (!peer?.raw) {
        done(fail('acme.tls', `${where} presented no certificate`));
        return;
      }
      let x: X509Certificate;
      try {
        x = new X509Certificate(peer.raw);
      } catch {
        done(fail('acme.tls', `${where} presented a certificate that cannot be parsed`));
        return;
      }
      const sans = (x.subjectAltName ?? '').split(', ').filter((s) => s);
      const want = t.type === 'ip' ? `IP Address:${t.value}` : `DNS:${t.value}`;
      if (sans.length !== 1 || sans[0]!.toLowerCase() !== want.toLowerCase()) {
        done(
          fail(
            'acme.incorrect_response',
            `${where}: the certificate must carry exactly the SAN ${want}, not ${sans.join(', ')}`,
          ),
        );
        return;
      }
      let ext: { critical: boolean; value: Uint8Array } | undefined;
      try {
        ext = readCertificate(new Uint8Array(peer.raw)).extensions.find((e) => e.oid === ACME_IDENTIFIER_OID);
      } catch {
        done(fail('acme.tls', `${where} presented a certificate that cannot be parsed`));
        return;
      }
      if (!ext?.critical) {
        done(fail('acme.incorrect_response', `${where}: the certificate lacks a critical acmeIdentifier`));
        return;
      }
      if (!Buffer.from(ext.value).equals(expectedAcmeIdentifier(keyAuthorization))) {
        done(fail('acme.incorrect_response', `${where}: the acmeIdentifier does not match the key authorization`));
        return;
      }
      done();
    });
  });
}

/** RFC 8555 §8.4: a TXT record at `_acme-challenge.<name>` with base64url(SHA-256(key authorization)). */
export async function validateDns01(t: ChallengeTarget, keyAuthorization: string, cfg: AcmeValidationConfig) {
  const resolver = new Resolver({ timeout: cfg.timeoutMs, tries: 2 });
  if (cfg.dnsResolvers?.length) resolver.setServers(cfg.dnsResolvers);
  const name = `_acme-challenge.${t.value}`;
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (e) {
    throw fail('acme.dns', `no TXT record at ${name}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  const want = dnsTxtValue(keyAuthorization);
  if (!records.some((chunks) => chunks.join('') === want))
    throw fail('acme.incorrect_response', `the TXT records at ${name} do not contain the expected value`);
}
