import { Duplex } from 'node:stream';
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { PeerCertificate } from 'node:tls';

/**
 * Node's HTTP parser (llhttp) has a fixed method table without `LIST`: a raw `LIST /v1/pki/roles HTTP/1.1` is
 * answered `400 Bad Request` before any handler runs. node-vault and hvac send LIST by default, so this shim sits
 * between the socket and the HTTP parser: it rewrites the request line `LIST <target>` to
 * `GET <target>?list=true` (adding `X-Vault-Original-Method: LIST`) and passes every other byte through
 * unchanged. It follows request boundaries (head + Content-Length body) so keep-alive and pipelined requests keep
 * working; a chunked request body switches the connection to plain pass-through.
 */
const MAX_HEAD = 64 * 1024;
const LIST_PREFIX = Buffer.from('LIST ');

type State = { mode: 'head'; buf: Buffer } | { mode: 'body'; remaining: number } | { mode: 'passthrough' };

/** Rewrites one complete request head (without the final CRLFCRLF) if it is a LIST request. */
export function rewriteListHead(head: string): string {
  if (!head.startsWith('LIST ')) return head;
  const eol = head.indexOf('\r\n');
  const line = eol < 0 ? head : head.slice(0, eol);
  const rest = eol < 0 ? '' : head.slice(eol);
  const m = /^LIST (\S+) (HTTP\/\d\.\d)$/.exec(line);
  const [, path, version] = m ?? [];
  if (path === undefined || version === undefined) return head;
  const target = path.includes('?') ? `${path}&list=true` : `${path}?list=true`;
  return `GET ${target} ${version}\r\nX-Vault-Original-Method: LIST${rest}`;
}

const CHUNKED_RE = /\r\ntransfer-encoding:[^\r]*chunked/i;
const CONTENT_LENGTH_RE = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r|$)/gi;

/** the body length a request head announces (the last valid Content-Length, as before), or `chunked` */
function contentLengthOf(head: string): number | 'chunked' {
  if (CHUNKED_RE.test(head)) return 'chunked';
  let length = 0;
  CONTENT_LENGTH_RE.lastIndex = 0;
  for (let m = CONTENT_LENGTH_RE.exec(head); m; m = CONTENT_LENGTH_RE.exec(head)) length = Number(m[1]);
  return length;
}

/**
 * Stateful byte transformer for one connection. Request heads are collected until their blank line (the HTTP
 * parser cannot act on a partial head anyway), rewritten if they are LIST requests, and their Content-Length
 * body is passed on verbatim.
 */
export function createListRewriter(): (chunk: Buffer) => Buffer {
  let state: State = { mode: 'head', buf: Buffer.alloc(0) };
  return (chunk: Buffer): Buffer => {
    const out: Buffer[] = [];
    let input = chunk;
    while (input.length > 0) {
      if (state.mode === 'passthrough') {
        out.push(input);
        break;
      }
      if (state.mode === 'body') {
        const take = Math.min(state.remaining, input.length);
        out.push(input.subarray(0, take));
        input = input.subarray(take);
        state.remaining -= take;
        if (state.remaining === 0) state = { mode: 'head', buf: Buffer.alloc(0) };
        continue;
      }
      const buf = state.buf.length ? Buffer.concat([state.buf, input]) : input;
      // search from just before the new bytes (the terminator may straddle two chunks)
      const end = buf.indexOf('\r\n\r\n', Math.max(0, state.buf.length - 3));
      if (end < 0) {
        if (buf.length > MAX_HEAD) {
          // oversized head: not ours to judge, the HTTP parser answers 431
          out.push(buf);
          state = { mode: 'passthrough' };
        } else state = { mode: 'head', buf: Buffer.from(buf) };
        break;
      }
      const headBytes = buf.subarray(0, end + 4);
      // leading CRLFs between requests are allowed; the request line starts after them
      let start = 0;
      while (start < end && (headBytes[start] === 0x0d || headBytes[start] === 0x0a)) start++;
      const head = headBytes.subarray(start, end).toString('latin1');
      const body = contentLengthOf(head);
      if (headBytes.subarray(start, start + LIST_PREFIX.length).equals(LIST_PREFIX)) {
        out.push(Buffer.from(`${rewriteListHead(head)}\r\n\r\n`, 'latin1'));
      } else out.push(headBytes);
      input = buf.subarray(end + 4);
      if (body === 'chunked') state = { mode: 'passthrough' };
      else if (body > 0) state = { mode: 'body', remaining: body };
      else state = { mode: 'head', buf: Buffer.alloc(0) };
    }
    return out.length === 1 && out[0] ? out[0] : Buffer.concat(out);
  };
}

/**
 * A Duplex in front of a socket: reads pass through the rewriter, writes go to the socket unchanged. It exposes
 * what the HTTP server and Fastify read from a socket (addresses, timeouts, `encrypted`, the TLS peer certificate).
 */
export class ListVerbSocket extends Duplex {
  readonly socket: Socket;
  private readonly rewrite = createListRewriter();

  constructor(socket: Socket) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const out = this.rewrite(chunk);
      if (out.length > 0 && !this.push(out)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('drain', () => this.emit('drain'));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (e?: Error | null) => void) {
    // one writev for the whole batch; the callback rides on the last chunk (an extra empty write cost a syscall)
    this.socket.cork();
    const last = chunks.length - 1;
    chunks.forEach((c, i) => this.socket.write(c.chunk, c.encoding, i === last ? callback : undefined));
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    callback(err);
  }

  get remoteAddress() {
    return this.socket.remoteAddress;
  }
  get remotePort() {
    return this.socket.remotePort;
  }
  get remoteFamily() {
    return this.socket.remoteFamily;
  }
  get localAddress() {
    return this.socket.localAddress;
  }
  get localPort() {
    return this.socket.localPort;
  }
  get encrypted(): boolean {
    return (this.socket as Socket & { encrypted?: boolean }).encrypted === true;
  }
  /** the TLS client certificate (HTTPS; SPIFFE renewal over mTLS reads it); undefined on plain sockets */
  getPeerCertificate(detailed?: boolean): PeerCertificate | undefined {
    const tls = this.socket as Socket & { getPeerCertificate?: (detailed?: boolean) => PeerCertificate };
    return typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate(detailed) : undefined;
  }
  get bytesWritten() {
    return this.socket.bytesWritten;
  }
  address() {
    return this.socket.address();
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  ref(): this {
    this.socket.ref();
    return this;
  }
  unref(): this {
    this.socket.unref();
    return this;
  }
  destroySoon(): void {
    this.end();
  }
}

/**
 * Installs the shim on an HTTP(S) server: the server's own connection handler then receives the wrapped
 * socket. HTTPS servers hand their parser a decrypted TLSSocket on `secureConnection`.
 */
export function installListVerbShim(server: HttpServer): void {
  const event =
    typeof (server as { addContext?: unknown }).addContext === 'function' ? 'secureConnection' : 'connection';
  const handlers = server.listeners(event) as ((socket: unknown) => void)[];
  server.removeAllListeners(event);
  server.on(event, (socket: Socket) => {
    const wrapped = new ListVerbSocket(socket);
    for (const h of handlers) h.call(server, wrapped);
  });
}
