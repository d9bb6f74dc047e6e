import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The idle timeout (Fastify `connectionTimeout`: Node's socket timeout, `PKIM_HTTP_IDLE_TIMEOUT_MS`) is for a client
 * that went silent: a request whose head or body stops coming, an answer nobody reads, a connection opened and never
 * used. Node also counts it while the server itself is preparing an answer and closes the connection when that takes
 * longer — a CA created on a slow HSM or KMS, an RSA-4096 key under load: the work finishes (the CA is made) but the
 * client never hears it, and a browser or client that resends the POST gets `ca.name_taken`.
 *
 * Here a connection is not idle while it is the server's turn — the request read in full and no byte of the answer
 * written yet: its timeout is ignored then (it fires again after the next silence). Everything else is closed at the
 * timeout as Node would. The keep-alive timeout after an answer and `requestTimeout` (the whole request received)
 * are Node's and unchanged.
 *
 * The server keeps ONE request listener: this wraps the one there (Fastify's, or the front paths' in front of it:
 * front-path.ts refuses to install on a server with two listeners — buildServer's `frontPathFailure` —, since a
 * listener added beside Fastify's takes every request too). Installed after the front paths, so their requests are
 * covered too.
 */
export function keepConnectionsWhileAnswering(server: Server): void {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // a listener of the answer's 'timeout' replaces Node's default (destroy the socket) for this request's turn
    res.on('timeout', (socket: Socket) => {
      if (req.complete && !res.headersSent) return;
      socket.destroy();
    });
    for (const listener of listeners) listener.call(server, req, res);
  });
}
