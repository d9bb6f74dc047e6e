/**
 * Signing throughput of every key custody backend, in one markdown table: signatures/s per backend × key type.
 * Run: npm run bench:keys   (or: npx tsx bench/keys-bench-all.ts [--duration-ms 1000])
 *
 * Rows: software (all key types), PKCS#11 on SoftHSM2 (RSA-2048, P-256, P-384), KMIP on PyKMIP (RSA-2048; PyKMIP
 * has no EC). The script starts a throwaway SoftHSM2 token and a PyKMIP server (mutual TLS, 127.0.0.1, ephemeral
 * port) and removes both at the end, also on failure. Each row generates one key in the backend, checks a warm-up
 * signature with node:crypto, then signs 1000 bytes sequentially (one request in flight) for ~1 s
 * (`benchBackend` in keys-bench.ts). A backend that cannot start is reported as an error row and the exit code is 1.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import type { KeyType } from '@pkim/shared';
import {
  createKmipBackend,
  createPkcs11Backend,
  createMemoryKeyBlobStorage,
  createSoftwareBackend,
  type KeyBackend,
} from '@pkim/keys';
import { createSoftHsmToken } from '../tests/support/softhsm';
import { startPyKmip } from '../tests/support/pykmip';
import { benchBackend, softwareBenchFactory, type BenchRow } from './keys-bench';

export interface AllBenchOptions {
  /** Time budget per row (default 1000 ms). */
  durationMs?: number;
}

async function benchWith(
  name: string,
  keyTypes: KeyType[],
  open: () => Promise<{ backend: KeyBackend; stop: () => Promise<void> }>,
  durationMs: number,
): Promise<BenchRow[]> {
  let opened: { backend: KeyBackend; stop: () => Promise<void> } | undefined;
  try {
    opened = await open();
    return await benchBackend(name, opened.backend, keyTypes, { durationMs });
  } catch (e) {
    return keyTypes.map((keyType) => ({
      backend: name,
      keyType,
      signatures: 0,
      seconds: 0,
      perSecond: 0,
      p50Ms: 0,
      error: (e as Error).message.split('\n')[0],
    }));
  } finally {
    if (opened) {
      // stop() awaits the exit of an unref'd child (PyKMIP): keep the event loop alive meanwhile, or a plain
      // `tsx` run ends with "unfinished top-level await" (exit 13) before the temp dirs are removed
      const keepAlive = setInterval(() => undefined, 1000);
      try {
        await opened.backend.close().catch(() => undefined);
        await opened.stop().catch(() => undefined);
      } finally {
        clearInterval(keepAlive);
      }
    }
  }
}

export async function runAllKeysBench(opts: AllBenchOptions = {}): Promise<BenchRow[]> {
  const durationMs = opts.durationMs ?? 1000;
  const rows: BenchRow[] = [];

  rows.push(
    ...(await benchWith(
      'software',
      softwareBenchFactory.keyTypes,
      async () => ({
        backend: createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() }),
        stop: async () => undefined,
      }),
      durationMs,
    )),
  );

  rows.push(
    ...(await benchWith(
      'pkcs11 (SoftHSM2)',
      ['rsa-2048', 'ec-p256', 'ec-p384'],
      async () => {
        const hsm = await createSoftHsmToken({ label: 'pkim-bench-all' });
        try {
          const backend = await createPkcs11Backend({
            modulePath: hsm.modulePath,
            tokenLabel: hsm.tokenLabel,
            pin: hsm.pin,
          });
          return { backend, stop: () => hsm.cleanup() };
        } catch (e) {
          await hsm.cleanup();
          throw e;
        }
      },
      durationMs,
    )),
  );

  rows.push(
    ...(await benchWith(
      'kmip (PyKMIP, mTLS)',
      ['rsa-2048'],
      async () => {
        const server = await startPyKmip();
        try {
          const backend = createKmipBackend({
            url: server.url,
            caPem: server.caPem,
            clientCertPem: server.clientCertPem,
            clientKeyPem: server.clientKeyPem,
          });
          return { backend, stop: () => server.stop() };
        } catch (e) {
          await server.stop();
          throw e;
        }
      },
      durationMs,
    )),
  );

  return rows;
}

/** The rows as a markdown table. */
export function formatMarkdownTable(rows: BenchRow[]): string {
  const lines = [
    '| backend | key type | signatures/s | p50 ms | signatures | seconds |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      r.error
        ? `| ${r.backend} | ${r.keyType} | error: ${r.error.replace(/\|/g, '\\|')} | | | |`
        : `| ${r.backend} | ${r.keyType} | ${r.perSecond.toFixed(r.perSecond < 100 ? 1 : 0)} | ${r.p50Ms.toFixed(2)} ` +
            `| ${r.signatures} | ${r.seconds.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const i = process.argv.indexOf('--duration-ms');
  const durationMs = i > 0 ? Number(process.argv[i + 1]) : 1000;
  if (!(durationMs > 0)) throw new Error('--duration-ms must be a positive number');
  const rows = await runAllKeysBench({ durationMs });
  console.log(
    `node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'cpu'}), ` +
      `~${durationMs} ms per row, sequential sign of 1000 bytes, one key per row\n`,
  );
  console.log(formatMarkdownTable(rows));
  if (rows.some((r) => r.error)) process.exitCode = 1;
}
