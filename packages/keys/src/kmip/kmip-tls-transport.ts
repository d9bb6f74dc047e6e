/**
 * Standard KMIP transport: binary TTLV over mutually authenticated TLS (default port 5696).
 * Framing: no length prefix; the 8-byte TTLV header of the ResponseMessage gives the length.
 * A small pool of persistent connections carries one request at a time each.
 */
import tls from 'node:tls';
import { PkiError } from '@pkim/shared';
import { binaryTtlvItemLength, decodeBinaryTtlv, encodeBinaryTtlv } from './kmip-binary-codec';
import { networkError, timeoutError } from './kmip-errors';
import type { KmipRoundTripOptions, KmipTransport } from './kmip-transport';
import type { TtlvNode } from './kmip-ttlv';

export interface KmipTlsTransportOptions {
  host: string;
  /** Default 5696. */
  port?: number;
  /** Trust anchor(s) for the server certificate (PEM). */
  caPem: string;
  /** Client certificate and key (PEM); KMIP servers authenticate clients by certificate. */
  clientCertPem: string;
  clientKeyPem: string;
  /** Server name checked against the certificate (default: host). */
  servername?: string;
  /** Persistent connections kept open (default 2). */
  maxConnections?: number;
}

const MAX_MESSAGE = 16 * 1024 * 1024;

interface Conn {
  socket: tls.TLSSocket;
  buf: Buffer;
  dead: boolean;
  onMessage?: (msg: Buffer) => void;
  onFailure?: (err: unknown) => void;
}

export function createKmipTlsTransport(opts: KmipTlsTransportOptions): KmipTransport {
  if (!opts.caPem || !opts.clientCertPem || !opts.clientKeyPem) {
    throw new PkiError(
      'kms.config_invalid',
      'KMIP over TLS needs a CA certificate, a client certificate and a client key',
    );
  }
  const port = opts.port ?? 5696;
  const server = `${opts.host}:${port}`;
  const max = Math.max(1, opts.maxConnections ?? 2);
  const idle: Conn[] = [];
  const waiters: (() => void)[] = [];
  let open = 0;
  let closed = false;

  function kill(c: Conn): void {
    if (c.dead) return;
    c.dead = true;
    open--;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    c.socket.destroy();
    waiters.shift()?.();
  }

  function connect(): Promise<Conn> {
    return new Promise<Conn>((resolve, reject) => {
      const socket = tls.connect({
        host: opts.host,
        port,
        ca: opts.caPem,
        cert: opts.clientCertPem,
        key: opts.clientKeyPem,
        ...(opts.servername ? { servername: opts.servername } : {}),
        minVersion: 'TLSv1.2',
      });
      const c: Conn = { socket, buf: Buffer.alloc(0), dead: false };
      open++;
      let ready = false;
      socket.setNoDelay(true);
      socket.once('secureConnect', () => {
        ready = true;
        resolve(c);
      });
      socket.on('data', (d: Buffer) => {
        c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
        const need = binaryTtlvItemLength(c.buf);
        if (need !== undefined && need > MAX_MESSAGE) {
          c.onFailure?.(new Error('KMIP response too large'));
          kill(c);
          return;
        }
        if (need !== undefined && c.buf.length >= need) {
          const msg = c.buf.subarray(0, need);
          c.buf = c.buf.subarray(need);
          const cb = c.onMessage;
          c.onMessage = undefined;
          c.onFailure = undefined;
          cb?.(Buffer.from(msg));
        }
      });
      const fail = (err: unknown): void => {
        const cb = c.onFailure;
        c.onMessage = undefined;
        c.onFailure = undefined;
        kill(c);
        if (!ready) reject(err instanceof Error ? err : new Error(String(err)));
        else cb?.(err);
      };
      socket.on('error', fail);
      socket.on('close', () =>
        fail(Object.assign(new Error('the KMIP server closed the connection'), { code: 'ECONNRESET' })),
      );
    });
  }

  async function acquire(): Promise<Conn> {
    for (;;) {
      if (closed) throw new PkiError('kms.unavailable', 'KMIP transport is closed', { retryable: false });
      const c = idle.pop();
      if (c && !c.dead) return c;
      if (open < max) return connect();
      await new Promise<void>((r) => waiters.push(r));
    }
  }

  function release(c: Conn): void {
    if (c.dead) return;
    if (closed) {
      kill(c);
      return;
    }
    idle.push(c);
    waiters.shift()?.();
  }

  async function roundTrip(request: TtlvNode, { operation, timeoutMs }: KmipRoundTripOptions): Promise<TtlvNode> {
    const bytes = encodeBinaryTtlv(request);
    let timer: NodeJS.Timeout | undefined;
    let conn: Conn | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(timeoutError(operation, timeoutMs));
      }, timeoutMs);
    });
    const exchange = (async () => {
      const c = await acquire();
      conn = c;
      if (timedOut) {
        kill(c);
        throw timeoutError(operation, timeoutMs);
      }
      const reply = await new Promise<Buffer>((resolve, reject) => {
        c.onMessage = resolve;
        c.onFailure = reject;
        c.socket.write(bytes);
      });
      release(c);
      return reply;
    })();
    try {
      const reply = await Promise.race([exchange, deadline]);
      return decodeBinaryTtlv(reply);
    } catch (e) {
      if (conn) kill(conn);
      exchange.catch(() => undefined);
      if (e instanceof PkiError) throw e;
      throw networkError(operation, e);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    kind: 'tls-binary',
    server,
    roundTrip,
    async close() {
      closed = true;
      for (const c of [...idle]) kill(c);
      while (waiters.length) waiters.shift()?.();
    },
  };
}
