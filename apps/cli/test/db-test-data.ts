// Shared by the db-*.test.ts files: builds a populated PKI through the real CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import type { CliResult } from '../../../tests/support/cli-in-process';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { rootAndIssuing } from '../../../tests/support/ca-kit';

export type Pkim = (...args: string[]) => CliResult;

export function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

export interface Populated {
  rootId: string;
  issuingId: string;
  certificateIds: string[];
  revokedId: string;
  requestIds: string[];
}

/**
 * root CA → issuing CA; 3 certificates with server keys, 1 from an openssl CSR, 1 approved
 * request (→ certificate), 1 rejected request; one certificate revoked.
 */
export function populate(pkim: Pkim, workDir: string): Populated {
  ok(pkim('init', '--json'));
  const rootId = ok(
    pkim('ca', 'create', '--name', 'root', '--subject', 'CN=Copy Root CA,O=Example', '--key-type', 'ec-p256', '--json'),
  ).json().id as string;
  const issuingId = ok(
    pkim(
      'ca',
      'create',
      '--name',
      'issuing',
      '--parent',
      rootId,
      '--subject',
      'CN=Copy Issuing CA,O=Example',
      '--key-type',
      'ec-p256',
      '--json',
    ),
  ).json().id as string;
  const certificateIds: string[] = [];
  for (const host of ['a', 'b', 'c']) {
    const r = ok(
      pkim(
        'cert',
        'issue',
        '--ca',
        'issuing',
        '--subject',
        `CN=${host}.example.com`,
        '--san',
        `${host}.example.com`,
        '--key-type',
        'ec-p256',
        '--out-key',
        join(workDir, `${host}.key`),
        '--json',
      ),
    );
    certificateIds.push(r.json().id);
  }
  const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=csr.example.com', sans: ['DNS:csr.example.com'] });
  writeFileSync(join(workDir, 'csr.pem'), csrPem);
  certificateIds.push(
    ok(
      pkim('cert', 'sign', '--ca', issuingId, '--csr', join(workDir, 'csr.pem'), '--profile', 'tls-server', '--json'),
    ).json().id,
  );
  const r1 = ok(pkim('request', 'submit', '--ca', issuingId, '--csr', join(workDir, 'csr.pem'), '--json')).json()
    .id as string;
  const r2 = ok(pkim('request', 'submit', '--ca', issuingId, '--csr', join(workDir, 'csr.pem'), '--json')).json()
    .id as string;
  certificateIds.push(ok(pkim('request', 'approve', r1, '--json')).json().certificate.id);
  ok(pkim('request', 'reject', r2, '--reason', 'duplicate'));
  const revokedId = certificateIds[1]!;
  ok(pkim('cert', 'revoke', revokedId, '--reason', 'keyCompromise', '--json'));
  return { rootId, issuingId, certificateIds, revokedId, requestIds: [r1, r2] };
}

/** id → status of every certificate the CLI lists. */
export function listedCertificates(pkim: Pkim): Record<string, string> {
  const items = ok(pkim('cert', 'list', '--limit', '1000', '--json')).json().items as {
    id: string;
    status: string;
  }[];
  return Object.fromEntries(items.map((c) => [c.id, c.status]));
}

export function auditVerify(pkim: Pkim): { ok: boolean; count: number; lastHash: string } {
  return ok(pkim('audit', 'verify', '--json')).json();
}

/**
 * The same data as `populate`, built in-process with the same wiring the CLI uses (`createAuthority`)
 * — much faster than one CLI process per step, for tests whose subject is not the building itself.
 */
export async function populateInProcess(dataDir: string, databaseUrl?: string): Promise<Populated> {
  const a = await createAuthority({ dataDir, databaseUrl, logger: pino({ level: 'silent' }) });
  const actor = { id: 'test:populate', role: 'admin' as const };
  try {
    const { root, issuing } = await rootAndIssuing(a, undefined, {
      actor,
      root: { subject: 'CN=Copy Root CA,O=Example' },
      issuing: { subject: 'CN=Copy Issuing CA,O=Example' },
    });
    const certificateIds: string[] = [];
    for (const host of ['a', 'b', 'c']) {
      const r = await a.issuance.issueWithKey(
        {
          caId: issuing.id,
          profile: 'tls-server',
          subject: `CN=${host}.example.com`,
          sans: { dns: [`${host}.example.com`] },
          keyType: 'ec-p256',
        },
        actor,
      );
      certificateIds.push(r.certificate.id);
    }
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=csr.example.com',
      sans: ['DNS:csr.example.com'],
    });
    certificateIds.push(
      (await a.issuance.issueFromCsr({ caId: issuing.id, csrPem, profile: 'tls-server' }, actor)).certificate.id,
    );
    const r1 = await a.requests.submit({ caId: issuing.id, csrPem, profile: 'tls-server' }, actor);
    const r2 = await a.requests.submit({ caId: issuing.id, csrPem, profile: 'tls-server' }, actor);
    certificateIds.push((await a.requests.approve(r1.id, actor)).issued.certificate.id);
    await a.requests.reject(r2.id, 'duplicate', actor);
    const revokedId = certificateIds[1]!;
    await a.certificates.revoke(revokedId, 'keyCompromise', actor);
    return { rootId: root.id, issuingId: issuing.id, certificateIds, revokedId, requestIds: [r1.id, r2.id] };
  } finally {
    await a.close();
  }
}
