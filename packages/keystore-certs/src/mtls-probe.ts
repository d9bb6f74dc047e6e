import { connect, type TLSSocket } from 'node:tls';

export interface ClientCredentials {
  certificatePem: string;
  /** the chain the client presents after its certificate (issuing CA first) */
  chainPems: string[];
  /** decrypted private key; the caller zeroizes it afterwards */
  privateKeyPem: Buffer;
}

export interface ConnectionTarget {
  endpoints: string[];
  /** trust for the keystore's server certificate (default: system roots) */
  serverCaPem?: string | null;
  /** SNI and name check (default: the endpoint host) */
  serverName?: string | null;
}

export interface ProbeResult {
  ok: boolean;
  endpoint: string;
  error?: string;
  protocol?: string;
}

/** Tests a client certificate against a keystore; the default is a real mTLS handshake with every endpoint. */
export type ConnectionTester = (target: ConnectionTarget, credentials: ClientCredentials) => Promise<ProbeResult[]>;

export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(endpoint.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`endpoint must be host:port, got '${endpoint}'`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * One mTLS handshake with client certificate. With TLS 1.3 the server checks the client certificate AFTER the
 * client's handshake completes, so `secureConnect` alone proves nothing: success is the server's first
 * post-handshake message (a session ticket or data); a rejection arrives as an alert (error) or a close.
 * Servers that send neither are given `settleMs` to object.
 */
export function mtlsHandshake(
  endpoint: string,
  target: ConnectionTarget,
  creds: ClientCredentials,
  opts: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ProbeResult> {
  const { host, port } = splitEndpoint(endpoint);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const settleMs = opts.settleMs ?? 1000;
  return new Promise((resolve) => {
    let done = false;
    let socket: TLSSocket | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (r: Omit<ProbeResult, 'endpoint'>) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket?.destroy();
      resolve({ endpoint, ...r });
    };
    try {
      socket = connect({
        host,
        port,
        servername: target.serverName ?? (/^[\d.:]+$/.test(host) ? undefined : host),
        cert: [creds.certificatePem, ...creds.chainPems].join('\n'),
        key: creds.privateKeyPem,
        ca: target.serverCaPem ?? undefined,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
      });
    } catch (e) {
      finish({ ok: false, error: (e as Error).message });
      return;
    }
    const s = socket;
    timers.push(setTimeout(() => finish({ ok: false, error: `no handshake within ${timeoutMs} ms` }), timeoutMs));
    s.on('error', (e: Error) => finish({ ok: false, error: e.message }));
    s.on('close', () => finish({ ok: false, error: 'the keystore closed the connection during the handshake' }));
    s.on('secureConnect', () => {
      const protocol = s.getProtocol() ?? undefined;
      // TLS 1.2: the server verified our certificate before its Finished message
      if (protocol !== 'TLSv1.3') {
        finish({ ok: true, protocol });
        return;
      }
      s.once('session', () => finish({ ok: true, protocol }));
      s.once('data', () => finish({ ok: true, protocol }));
      timers.push(setTimeout(() => finish({ ok: true, protocol }), settleMs));
    });
  });
}

/** The default tester: every endpoint must accept the certificate. */
export const handshakeTester: ConnectionTester = (target, creds) =>
  Promise.all(target.endpoints.map((e) => mtlsHandshake(e, target, creds)));
