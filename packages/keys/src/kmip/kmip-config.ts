/**
 * Reads the KMIP backend configuration from the environment:
 *   PKIM_KMIP_URL          http(s)://host:port (Cosmian KMS) or kmip://host[:5696] (KMIP over TLS)
 *   PKIM_KMIP_API_KEY      bearer token for Cosmian KMS (optional)
 *   PKIM_KMIP_CA           path to the PEM CA certificate that signed the server certificate
 *   PKIM_KMIP_CLIENT_CERT  path to the PEM client certificate (required for kmip://)
 *   PKIM_KMIP_CLIENT_KEY   path to the PEM client key (required for kmip://)
 *   PKIM_KMIP_TIMEOUT_MS   per-attempt deadline (default 30000)
 *   PKIM_KMIP_RETRIES        total attempts per operation, first included (default 3; 1 = no retry)
 *   PKIM_KMIP_RETRY_BASE_MS  exponential backoff base: base × 2^n between attempts (default 100)
 * Returns undefined when PKIM_KMIP_URL is unset; throws kms.config_invalid when the rest is inconsistent.
 */
import { readFileSync } from 'node:fs';
import { PkiError } from '@pkim/shared';
import type { KmipBackendOptions } from './kmip-backend';

export function kmipConfigFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): KmipBackendOptions | undefined {
  const url = env.PKIM_KMIP_URL?.trim();
  if (!url) return undefined;
  const bad = (msg: string): PkiError => new PkiError('kms.config_invalid', `KMIP configuration: ${msg}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(`PKIM_KMIP_URL is not a URL: ${url}`);
  }
  if (!['http:', 'https:', 'kmip:'].includes(u.protocol))
    throw bad(`PKIM_KMIP_URL must start with http://, https:// or kmip:// (got ${u.protocol})`);
  const file = (name: string): string | undefined => {
    const p = env[name]?.trim();
    if (!p) return undefined;
    let text: string;
    try {
      text = readFile(p);
    } catch (e) {
      throw bad(`${name}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw bad(`${name}: ${p} is not a PEM file`);
    return text;
  };
  const caPem = file('PKIM_KMIP_CA');
  const clientCertPem = file('PKIM_KMIP_CLIENT_CERT');
  const clientKeyPem = file('PKIM_KMIP_CLIENT_KEY');
  if (Boolean(clientCertPem) !== Boolean(clientKeyPem))
    throw bad('PKIM_KMIP_CLIENT_CERT and PKIM_KMIP_CLIENT_KEY must be set together');
  if (u.protocol === 'kmip:' && (!caPem || !clientCertPem)) {
    throw bad('kmip:// needs PKIM_KMIP_CA, PKIM_KMIP_CLIENT_CERT and PKIM_KMIP_CLIENT_KEY');
  }
  const apiKey = env.PKIM_KMIP_API_KEY?.trim() || undefined;
  if (apiKey && u.protocol === 'kmip:') throw bad('PKIM_KMIP_API_KEY applies to Cosmian http(s):// URLs, not kmip://');
  let timeoutMs: number | undefined;
  const t = env.PKIM_KMIP_TIMEOUT_MS?.trim();
  if (t) {
    if (!/^\d+$/.test(t) || Number(t) <= 0) throw bad(`PKIM_KMIP_TIMEOUT_MS must be a positive integer (ms), got ${t}`);
    timeoutMs = Number(t);
  }
  const retries = boundedInt(env, 'PKIM_KMIP_RETRIES', 1, 10);
  const retryBaseMs = boundedInt(env, 'PKIM_KMIP_RETRY_BASE_MS', 1, 60_000);
  return {
    url,
    ...(apiKey ? { apiKey } : {}),
    ...(caPem ? { caPem } : {}),
    ...(clientCertPem ? { clientCertPem } : {}),
    ...(clientKeyPem ? { clientKeyPem } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(retries !== undefined ? { retries } : {}),
    ...(retryBaseMs !== undefined ? { retryBaseMs } : {}),
  };
}

function boundedInt(
  env: Record<string, string | undefined>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new PkiError(
      'kms.config_invalid',
      `KMIP configuration: ${name} must be an integer from ${min} to ${max}, got '${text}'`,
      { details: { variable: name } },
    );
  }
  return n;
}
