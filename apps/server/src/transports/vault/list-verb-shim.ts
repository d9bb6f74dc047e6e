import { Duplex } from 'node:stream';
import type { Server as HttpServer } from 'node:http';
import { Socket } from 'node:net';
import type { PeerCertificate } from 'node:tls';

/**
 * Node's HTTP parser (llhttp) has a fixed method table without `LIST`: a raw `LIST /v1/pki/roles HTTP/1.1` is
 * answered `400 Bad Request` before any handler runs. node-vault and hvac send LIST by default.
 *
 * Connections that never send LIST (every other client) are parsed by Node alone, at full speed: only when the parser
 * reports an invalid method and the request begins with `LIST ` does {@link installListVerbFallback} take the
 * connection over from Node's HTTP server and hand it back through a {@link ListVerbSocket}, a byte-level shim between
 * the socket and a new parser that rewrites the request line `LIST <target>` to `GET <target>?list=true` (adding
 * `X-Vault-Original-Method: LIST`) and passes every other byte through unchanged. The shim follows request
 * boundaries (head + Content-Length body) so keep-alive and pipelined requests keep working; a chunked request body
 * switches the connection to plain pass-through.
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

  /** `head`: bytes already read from the socket that the new parser must see first */
  constructor(socket: Socket, head?: Buffer) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    if (head?.length) {
      const out = this.rewrite(head);
      if (out.length > 0) this.push(out);
    }
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

const LIST_BYTES = Buffer.from('LIST ');

/**
 * The bytes from the start of a LIST request on, when a parse error is Node refusing its method: llhttp stops inside
 * the method (`LIS` fails at `S`), so the request line starts at most 4 bytes before `bytesParsed` — or in the
 * previous chunk, whose first bytes of the method the parser already took (re-added here).
 */
function listRequestOf(err: Error): Buffer | undefined {
  const e = err as Error & { code?: string; rawPacket?: unknown; bytesParsed?: unknown };
  if (e.code !== 'HPE_INVALID_METHOD' || !Buffer.isBuffer(e.rawPacket)) return undefined;
  const raw = e.rawPacket;
  const at = typeof e.bytesParsed === 'number' ? Math.min(e.bytesParsed, raw.length) : 0;
  for (let start = at; start >= at - 4; start--) {
    if (start >= 0) {
      if (raw.subarray(start, start + 5).equals(LIST_BYTES)) return raw.subarray(start);
    } else if (raw.length >= 5 + start && raw.subarray(0, 5 + start).equals(LIST_BYTES.subarray(-start))) {
      return Buffer.concat([LIST_BYTES.subarray(0, -start), raw]);
    }
  }
  return undefined;
}

interface SpentParser {
  _consumed?: boolean;
  unconsume?: () => void;
  remove?: () => void;
  close?: () => void;
}
type HttpSocket = Socket & { parser?: SpentParser | null; _httpMessage?: NodeJS.EventEmitter | null };

/** the listeners Node's HTTP server puts on a connection (lib/_http_server.js), by name */
const NODE_HTTP_LISTENER =
  /^(bound )?(socketOnData|socketOnEnd|socketOnClose|socketOnDrain|socketOnError|socketOnTimeout|onSocketResume|onSocketPause)$/;
const NODE_HTTP_EVENTS = ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause'];

/**
 * Takes a connection whose parser refused a LIST request away from Node's HTTP server (as Node does for an upgrade:
 * its listeners removed, its parser released) and, once the answers to earlier requests on it are written, hands
 * it back as a {@link ListVerbSocket} that starts with the LIST request's bytes. False when this Node does not look
 * as expected (the caller then answers 400 as before).
 */
function takeOverListConnection(server: HttpServer, event: string, socket: HttpSocket, rest: Buffer): boolean {
  const parser = socket.parser;
  const ours = (l: (...a: unknown[]) => void) => NODE_HTTP_LISTENER.test(l.name);
  const dataListeners = socket.listeners('data') as ((...a: unknown[]) => void)[];
  if (!parser || typeof parser.unconsume !== 'function' || !dataListeners.every(ours)) return false;
  for (const name of NODE_HTTP_EVENTS) {
    for (const l of socket.listeners(name) as ((...a: unknown[]) => void)[]) {
      if (ours(l)) socket.removeListener(name, l);
    }
  }
  if (parser._consumed) parser.unconsume();
  parser._consumed = false;
  parser.remove?.();
  socket.parser = null;
  // the parser is still on the stack (this runs inside its callback): closed once it has unwound
  setImmediate(() => parser.close?.());
  socket.on('error', () => undefined); // until the shim listens
  socket.pause();
  const handOver = () => {
    // answers to requests before the LIST one are still being written: the new parser's answers go after them
    const inFlight = socket._httpMessage;
    if (inFlight) {
      inFlight.once('finish', () => setImmediate(handOver));
      return;
    }
    if (socket.destroyed) return;
    const wrapped = new ListVerbSocket(socket, rest);
    for (const h of server.listeners(event) as ((s: unknown) => void)[]) h.call(server, wrapped);
  };
  handOver();
  return true;
}

/**
 * Installs the LIST fallback on an HTTP(S) server: a parse error that is Node refusing the `LIST` method takes the
 * connection over (above); every other client error goes to the handlers that were there (Fastify's). HTTPS servers
 * hand their parser a decrypted TLSSocket on `secureConnection`.
 */
export function installListVerbFallback(server: HttpServer): void {
  const event =
    typeof (server as { addContext?: unknown }).addContext === 'function' ? 'secureConnection' : 'connection';
  const handlers = server.listeners('clientError') as ((err: Error, socket: Duplex) => void)[];
  server.removeAllListeners('clientError');
  server.on('clientError', (err: Error, socket: Duplex) => {
    // a connection already behind the shim is not taken over again: its parser's errors are real ones
    const rest = socket instanceof Socket ? listRequestOf(err) : undefined;
    if (rest && socket instanceof Socket && takeOverListConnection(server, event, socket, rest)) return;
    if (handlers.length === 0) {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy(err);
    }
    for (const h of handlers) h.call(server, err, socket);
  });
}
