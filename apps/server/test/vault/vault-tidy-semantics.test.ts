// `<mount>/tidy` and `tidy-status` walked against OpenBao's path_tidy.go with hvac (Debian python3-hvac): tidy-status
// answers every key of OpenBao's (all null but `state` and `internal_backend_uuid` before a tidy; the targets, buffers
// and counts after one, `message` null once Finished); OpenBao's targets this server does not tidy are refused
// unless given their defaults (not ignored); `tidy_revocation_list` is `tidy_revoked_certs`; no target: OpenBao's
// warning alone. On the authority's clock moved by the test (no sleeps).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

const clock = fixedClock(Date.now());
let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ clock }, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => f?.close());

type Op = ['write', string, Record<string, unknown>] | ['read', string];
function hvac(ops: Op[]): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const args = [join(import.meta.dirname, 'hvac-ops.py'), f.url, f.token, JSON.stringify(ops)];
    execFile('/usr/bin/python3', args, { timeout: 120_000 }, (err, out, e) =>
      err ? reject(new Error(`hvac failed: ${err.message}\n${e}`)) : resolve(JSON.parse(out)),
    );
  });
}

/** tidy-status once the tidy left `Running` (a bound on the polls, not a timed assertion) */
async function settled(): Promise<Record<string, any>> {
  for (let i = 0; i < 600; i++) {
    const data = (await vaultCall(f, 'GET', 'pki/tidy-status')).body.data;
    if (data.state !== 'Running') return data;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the tidy never finished');
}

// OpenBao's tidy-status keys (pathTidyStatusRead), and last_auto_tidy_finished (ours: from the database)
const KEYS = [
  'safety_buffer', 'revoked_safety_buffer', 'issuer_safety_buffer', 'tidy_cert_store', 'tidy_revoked_certs',
  'tidy_invalid_certs', 'tidy_revoked_cert_issuer_associations', 'tidy_expired_issuers', 'tidy_move_legacy_ca_bundle',
  'tidy_acme', 'pause_duration', 'page_size', 'state', 'error', 'time_started', 'time_finished', 'message',
  'cert_store_deleted_count', 'revoked_cert_deleted_count', 'missing_issuer_cert_count', 'current_cert_store_count',
  'current_revoked_cert_count', 'internal_backend_uuid', 'total_acme_account_count', 'acme_account_deleted_count',
  'acme_account_revoked_count', 'acme_orders_deleted_count', 'acme_account_safety_buffer', 'last_auto_tidy_finished',
].sort(); // prettier-ignore

const TARGETS =
  'tidy_cert_store / tidy_revoked_certs / tidy_invalid_certs / tidy_revoked_cert_issuer_associations / ' +
  'tidy_expired_issuers / tidy_move_legacy_ca_bundle / tidy_acme';

describe('tidy and tidy-status, as OpenBao answers them (hvac)', () => {
  it("answers OpenBao's inactive tidy-status before any tidy", async () => {
    const uuid = (await vaultCall(f, 'GET', 'sys/mounts')).body.data['pki/'].uuid;
    const [status] = await hvac([['read', 'pki/tidy-status']]);
    expect(Object.keys(status.data).sort()).toEqual(KEYS);
    const { state, internal_backend_uuid: id, ...rest } = status.data;
    expect(state).toBe('Inactive');
    expect(id).toBe(uuid);
    expect(Object.values(rest).every((v) => v === null)).toBe(true);
  });

  it("refuses OpenBao's targets it does not tidy, unless their defaults; no target: OpenBao's warning", async () => {
    const [issuers, acme, invalid, buffer, nothing] = await hvac([
      ['write', 'pki/tidy', { tidy_cert_store: true, tidy_expired_issuers: true }],
      ['write', 'pki/tidy', { tidy_acme: true }],
      ['write', 'pki/tidy', { tidy_invalid_certs: 'true' }],
      ['write', 'pki/tidy', { tidy_cert_store: true, safety_buffer: '1h', revoked_safety_buffer: '2h' }],
      ['write', 'pki/tidy', { tidy_expired_issuers: false, tidy_acme: false, issuer_safety_buffer: '8760h' }],
    ]);
    expect(issuers.errors).toEqual([
      "tidy_expired_issuers is not supported by PKI Manager's tidy (a mount's issuers are CAs (DELETE issuer/:ref, " +
        'pkim ca delete remove them)): it can only be false',
    ]);
    expect(acme.errors[0]).toMatch(/^tidy_acme is not supported by PKI Manager's tidy/);
    expect(invalid.errors[0]).toMatch(/^tidy_invalid_certs is not supported by PKI Manager's tidy/);
    expect(buffer.errors[0]).toMatch(/^revoked_safety_buffer apart from safety_buffer is not supported here/);
    expect(nothing.warnings).toEqual([
      'Manual tidy requested but no tidy operations were set. Enable at least one tidy operation to be run ' +
        `(${TARGETS}).`,
    ]);
    expect((await settled()).state).toBe('Finished');
  });

  it('tidy_revocation_list tidies revoked certificates; tidy-status carries every key, message null', async () => {
    const leaf = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'gone.example.com', ttl: '1h' });
    expect(leaf.status, leaf.text).toBe(200);
    const serial = leaf.body.data.serial_number as string;
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: serial })).status).toBe(200);
    clock.advance(3 * 3_600_000);
    const [started] = await hvac([
      ['write', 'pki/tidy', { tidy_revocation_list: true, safety_buffer: '1h', revoked_safety_buffer: '1h' }],
    ]);
    expect(started.status).toBe(202);
    expect(started.warnings).toEqual([
      'Tidy operation successfully started. Any information from the operation will be printed to the server logs.',
    ]);
    const done = await settled();
    expect(Object.keys(done).sort()).toEqual(KEYS);
    expect(done).toMatchObject({
      state: 'Finished',
      message: null,
      error: null,
      tidy_revoked_certs: true,
      tidy_cert_store: false,
      safety_buffer: 3600,
      revoked_safety_buffer: 3600,
      issuer_safety_buffer: 31_536_000,
      tidy_expired_issuers: false,
      tidy_acme: false,
      page_size: 1000,
      revoked_cert_deleted_count: 1,
      pause_duration: '0s',
    });
    expect(typeof done.time_finished).toBe('string');
    expect((await vaultCall(f, 'GET', `pki/cert/${serial}`)).status).toBe(404);
  });
});
