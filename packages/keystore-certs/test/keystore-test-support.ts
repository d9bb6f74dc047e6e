// Local "keystore endpoints": TLS servers that require a client certificate from a given CA (optionally with CRLs),
// with a server certificate made by openssl. Bound to 127.0.0.1 on ephemeral ports.
import { createServer, type Server, type SecureContextOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { openssl, tempDir } from '../../../tests/support/openssl-tools';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** A self-signed EC CA + a server certificate for 127.0.0.1 it signed (openssl), valid around real time. */
export function serverPki(): { caPem: string; certPem: string; keyPem: string } {
  const t = tempDir('pkim-ks-srv-');
  try {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key'].concat([
        '-out',
        'ca.pem',
        '-subj',
        '/CN=Keystore Server CA',
        '-days',
        '3',
      ]),
    );
    run(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key'].concat([
        '-out',
        'srv.csr',
        '-subj',
        '/CN=keystore.local',
      ]),
    );
    execFileSync(
      'sh',
      ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:keystore.local\\nextendedKeyUsage=serverAuth\\n" > ext'],
      { cwd: t.dir },
    );
    run(
      ['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2'].concat([
        '-extfile',
        'ext',
        '-out',
        'srv.pem',
      ]),
    );
    const read = (f: string) => readFileSync(join(t.dir, f), 'utf8');
    return { caPem: read('ca.pem'), certPem: read('srv.pem'), keyPem: read('srv.key') };
  } finally {
    t.cleanup();
  }
}

/** Another CA the endpoints may trust instead (to make handshakes fail). */
export function otherCaPem(): string {
  const r = openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@k.pem'].concat([
      '-subj',
      '/CN=Some Other CA',
      '-days',
      '2',
    ]),
  );
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.output);
  if (!m) throw new Error(`openssl made no certificate:\n${r.output}`);
  return m[0];
}

export interface KeystoreEndpoint {
  endpoint: string;
  port: number;
  /** accepted client certificates (by serial), in order */
  accepted: string[];
  /** trust these client CAs (and check these CRLs, leaf and chain) from now on */
  trust(clientCaPems: string[], crlPems?: string[]): void;
  close(): Promise<void>;
}

export async function keystoreEndpoint(
  server: { certPem: string; keyPem: string },
  clientCaPems: string[],
): Promise<KeystoreEndpoint> {
  const base: SecureContextOptions = { cert: server.certPem, key: server.keyPem };
  const accepted: string[] = [];
  const srv: Server = createServer(
    { ...base, ca: clientCaPems, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      accepted.push(socket.getPeerCertificate().serialNumber?.toLowerCase() ?? '');
      socket.end('keystore ready\n');
    },
  );
  srv.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    accepted,
    trust(cas, crls) {
      srv.setSecureContext({ ...base, ca: cas, ...(crls?.length ? { crl: crls } : {}) });
    },
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}
