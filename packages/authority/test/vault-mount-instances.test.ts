// The Vault request path keeps the mounts and roles it read (vault-mount-service.ts `requestView`, issue #12) while
// nothing says they changed. On SQLite another process's write moves Store.otherCommits (PRAGMA data_version): it
// applies at the next request (apps/server/test/vault/vault-role-fresh.test.ts). On PostgreSQL settings writes are
// not announced to other instances, so instance B applies A's mount and role writes within MOUNT_RECHECK_MS of its
// clock — and its own writes at once. Both clocks are frozen here: only B's clock moving can end B's view.
import { describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { MOUNT_RECHECK_MS } from '../src/vault/vault-mount-service';

const hosts = postgresInstances();

describe('Vault mounts and roles on two PostgreSQL instances', () => {
  it("B applies A's mount and role writes within MOUNT_RECHECK_MS of its clock, its own at once", async () => {
    const clocks = [fixedClock(Date.now()), fixedClock(Date.now())] as const;
    const [a, b] = await hosts.two((i) => ({ clock: clocks[i] }));
    const bClock = clocks[1];
    const { issuing } = await rootAndIssuing(a, 'pg-vault');
    const mounts = (x: Authority) => x.vault.mounts;
    const domains = async (role: string) => (await mounts(b).getRole('pki', role))?.allowed_domains;
    const later = () => bClock.advance(MOUNT_RECHECK_MS);

    // a mount A creates: B finds it once its clock moved (B looked before: it had no such mount)
    expect(await mounts(b).findMount('pki/sign/web')).toBeUndefined();
    await mounts(a).mount({ path: 'pki', ca: issuing.id }, TEST_ADMIN);
    later();
    expect((await mounts(b).findMount('pki/sign/web'))?.mount.caId).toBe(issuing.id);

    // a role A writes, rewrites and deletes: B applies each within MOUNT_RECHECK_MS
    expect(await domains('web')).toBeUndefined();
    await mounts(a).writeRole('pki', 'web', { allowed_domains: 'example.com' }, TEST_ADMIN);
    later();
    expect(await domains('web')).toEqual(['example.com']);
    await mounts(a).writeRole('pki', 'web', { allowed_domains: 'example.org' }, TEST_ADMIN);
    later();
    expect(await domains('web')).toEqual(['example.org']);
    await mounts(a).deleteRole('pki', 'web', TEST_ADMIN);
    later();
    expect(await domains('web')).toBeUndefined();

    // B's own writes apply to B's next request without its clock moving
    await mounts(b).writeRole('pki', 'own', { allowed_domains: 'example.net' }, TEST_ADMIN);
    expect(await domains('own')).toEqual(['example.net']);
    await mounts(b).unmount('pki', TEST_ADMIN);
    expect(await mounts(b).findMount('pki/sign/own')).toBeUndefined();
    expect(await domains('own')).toBeUndefined();
  }, 60_000);
});
