import type { FastifyPluginAsync } from 'fastify';
import { PkiError } from '@pkim/shared';
import { fromPem, toPem } from '@pkim/core';
import { parsePartitionFile, type Authority } from '@pkim/authority';
import { sendCacheable } from './relying-party-cache';

/** `<ca id or name>.<ext>`: a CA name may hold dots (`pki.example`), the last one starts the extension */
const CA_FILE_RE = /^([A-Za-z0-9][A-Za-z0-9 ._-]{0,127})\.(crl|pem|crt|der)$/;

/**
 * Relying-party endpoints, no authentication: `/crl/<caId>.crl` (DER), `/crl/<caId>.pem`,
 * `/aia/<caId>.crt` (DER CA certificate); a CA name works wherever an id does (`/crl/issuing.crl`).
 * The CRL comes from `authority.crl.current`, which is regenerated after any revocation (any process), so
 * nothing is cached here.
 */
export const crlPlugin: FastifyPluginAsync<{ authority: Authority; maxAgeSeconds: number }> = async (
  app,
  { authority, maxAgeSeconds },
) => {
  app.get<{ Params: { file: string } }>('/crl/:file', async (request, reply) => {
    const m = CA_FILE_RE.exec(request.params.file);
    const ref = m?.[1];
    if (!m || ref === undefined || (m[2] !== 'crl' && m[2] !== 'pem'))
      throw new PkiError('route.not_found', 'expected /crl/<ca id or name>.crl or /crl/<ca id or name>.pem');
    const caId = ref.startsWith('ca_') ? ref : (await authority.cas.get(ref)).ca.id;
    const crl = await authority.crl.current(caId);
    const opts = {
      maxAgeSeconds,
      nextUpdate: crl.nextUpdate,
      lastModified: crl.thisUpdate,
      now: authority.clock.now(),
    };
    if (m[2] === 'pem')
      return sendCacheable(request, reply, Buffer.from(toPem(crl.der, 'X509 CRL')), 'application/x-pem-file', opts);
    return sendCacheable(request, reply, crl.der, 'application/pkix-crl', opts);
  });

  // a CRL partition (docs/crl.md): `/crl/<ca id>/<start>-<end>.crl`, the certificates expiring in that window
  app.get<{ Params: { ca: string; file: string } }>('/crl/:ca/:file', async (request, reply) => {
    const partition = parsePartitionFile(request.params.file);
    if (!partition || !request.params.ca.startsWith('ca_'))
      throw new PkiError('route.not_found', 'expected /crl/<ca id>/<start>-<end>.crl (a CRL partition)');
    const crl = await authority.crl.current(request.params.ca, partition);
    const opts = {
      maxAgeSeconds,
      nextUpdate: crl.nextUpdate,
      lastModified: crl.thisUpdate,
      now: authority.clock.now(),
    };
    return sendCacheable(request, reply, crl.der, 'application/pkix-crl', opts);
  });

  app.get<{ Params: { file: string } }>('/aia/:file', async (request, reply) => {
    const m = CA_FILE_RE.exec(request.params.file);
    const ref = m?.[1];
    if (!m || ref === undefined || (m[2] !== 'crt' && m[2] !== 'der'))
      throw new PkiError('route.not_found', 'expected /aia/<ca id or name>.crt');
    const view = await authority.cas.get(ref);
    if (!view.certificatePem || (ref.startsWith('ca_') && view.ca.id !== ref))
      throw new PkiError('ca.not_found', `no certificate for CA '${ref}'`);
    return sendCacheable(request, reply, fromPem(view.certificatePem, 'CERTIFICATE'), 'application/pkix-cert', {
      maxAgeSeconds: Math.max(maxAgeSeconds, 3600),
      now: authority.clock.now(),
    });
  });
};
