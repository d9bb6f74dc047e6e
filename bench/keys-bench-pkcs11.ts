/**
 * PKCS#11 (SoftHSM2) signing throughput, next to the software backend rows of keys-bench.ts.
 * Run: npx tsx bench/keys-bench-pkcs11.ts
 *
 * Sequential rows come from benchBackend() (one sign in flight). The "xN" rows keep N sign calls in
 * flight, which the backend's session pool (default 2 sessions, signing on the libuv thread pool)
 * can serve in parallel.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { KeyType } from '@pkim/shared';
import { createPkcs11Backend, type KeyBackend } from '@pkim/keys';
import { createSoftHsmToken } from '../tests/support/softhsm';
import { benchBackend, formatBenchTable, type BenchRow } from './keys-bench';

async function benchConcurrent(
  name: string,
  backend: KeyBackend,
  keyType: KeyType,
  inFlight: number,
  durationMs = 1000,
): Promise<BenchRow> {
  const data = randomBytes(1000);
  const ref = await backend.generateKey({ keyType, label: `bench concurrent ${keyType}` });
  try {
    const lat: number[] = [];
    const t0 = performance.now();
    const deadline = t0 + durationMs;
    const worker = async () => {
      while (performance.now() < deadline) {
        const s = performance.now();
        await backend.sign(ref.uri, keyType, data);
        lat.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return {
      backend: `${name} x${inFlight}`,
      keyType,
      signatures: lat.length,
      seconds,
      perSecond: lat.length / seconds,
      p50Ms: lat[Math.floor(lat.length / 2)] ?? 0,
    };
  } finally {
    await backend.destroy?.(ref.uri).catch(() => undefined);
  }
}

export async function runPkcs11Bench(durationMs = 1000): Promise<BenchRow[]> {
  const hsm = await createSoftHsmToken({ label: 'pkim-bench' });
  const backend = await createPkcs11Backend({ modulePath: hsm.modulePath, tokenLabel: hsm.tokenLabel, pin: hsm.pin });
  try {
    const keyTypes: KeyType[] = ['rsa-2048', 'rsa-3072', 'ec-p256', 'ec-p384'];
    const rows = await benchBackend('pkcs11 (SoftHSM2)', backend, keyTypes, { durationMs });
    for (const kt of ['rsa-2048', 'ec-p256'] as const)
      rows.push(await benchConcurrent('pkcs11 (SoftHSM2)', backend, kt, 8, durationMs));
    return rows;
  } finally {
    await backend.close();
    await hsm.cleanup();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const rows = await runPkcs11Bench();
  console.log(`node ${process.version}, SoftHSM2 via graphene-pk11, ~1 s per row, sign of 1000 bytes\n`);
  console.log(formatBenchTable(rows));
  if (rows.some((r) => r.error)) process.exitCode = 1;
}
