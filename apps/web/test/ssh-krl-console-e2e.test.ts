// End to end in Chromium against `pkim serve` (see ssh-console-e2e.test.ts): a revocation into the CA KRL
// (ssh-keygen -Q), the user CA's rotation with both keys trusted, a fleet token a host bootstraps with.
import { describe, expect, it } from 'vitest';
import { generateSshKey, krlRevokes } from '../../../tests/support/openssh';
import { POLL, seedRegistry, useSshConsole } from './support/ssh-console';

describe('web console SSH pages: certificates, KRLs, rotation and fleet tokens (Chromium against pkim serve)', () => {
  const e2e = useSshConsole('pkim-ssh-e2e-krl', seedRegistry);
  const { shot, tab, dialog, failure, signUser, keys } = e2e;

  it('revokes a certificate into the CA KRL (ssh-keygen -Q) and shows the KRL version', async () => {
    const victim = await signUser('alice', ['deploy']);
    await tab('Certificates');
    const row = e2e.page.locator(`[data-ssh-serial="${victim.certificate.serial}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await e2e.page.getByLabel('Reason (optional)').fill('laptop stolen');
    await shot('ssh-revoke-confirmation');
    await e2e.page.getByRole('button', { name: 'Revoke certificate' }).click();
    await e2e.page.getByText(`Revoked serial ${victim.certificate.serial}`).waitFor();
    await row.locator('[data-status="revoked"]').waitFor();
    await shot('ssh-certificates');
    const krl = await e2e.server.authority.ssh.caKrl('stg-users');
    expect(krlRevokes(krl.krl, victim.line)).toBe(true);

    await tab('KRL');
    await expect
      .poll(() => e2e.page.getByTestId('krl-version-stg-users').textContent(), POLL)
      .toBe(String(krl.version));
    await shot('ssh-krl');
    // the link serves the same KRL the hosts poll
    const fetched = await e2e.page.evaluate(async () => {
      const r = await fetch('/ssh/krl/ca/stg-users');
      return { status: r.status, version: r.headers.get('x-krl-version') };
    });
    expect(fetched).toEqual({ status: 200, version: String(krl.version) });
  }, 60_000);

  it('rotates the user CA: both keys are trusted during the overlap, the new one signs', async () => {
    const old = await e2e.server.authority.ssh.getCa('stg-users');
    await tab('CAs');
    await e2e.page.locator('[data-ssh-ca="stg-users"]').getByRole('button', { name: 'Rotate' }).click();
    await e2e.page.getByRole('alertdialog').getByRole('button', { name: 'Rotate CA' }).click();
    await e2e.page.getByText(/is the active user CA/).waitFor();
    await e2e.page.locator('[data-ssh-ca="stg-users"] [data-status="rotating"]').waitFor();
    await shot('ssh-cas');
    const cas = (await e2e.server.authority.ssh.listCas('staging')).filter((v) => v.ca.certType === 'user');
    const active = cas.find((v) => v.ca.status === 'active')!;
    expect(active.ca.name).not.toBe('stg-users');
    const trust = await e2e.server.authority.ssh.trust('staging');
    expect(trust.userCaKeys).toContain(old.publicKey.split(' ')[1]);
    expect(trust.userCaKeys).toContain(active.publicKey.split(' ')[1]);
    expect(await failure(signUser('alice', ['deploy']))).toBe('ssh.ca_not_active');
  }, 60_000);

  it('creates a fleet token shown once; a host bootstraps its certificate with it', async () => {
    await tab('Fleet tokens');
    await e2e.page.getByRole('button', { name: 'Create fleet token' }).click();
    await dialog().getByLabel('Name').fill('stg-bootstrap');
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByRole('button', { name: 'Create token' }).click();
    const secret = (await e2e.page.getByTestId('fleet-token-secret').textContent())!;
    expect(secret).toMatch(/^pkimf_/);
    await e2e.page.getByRole('button', { name: 'Done' }).click();
    await e2e.page.locator('[data-fleet-token="stg-bootstrap"]').waitFor();
    expect(await e2e.page.content()).not.toContain(secret);
    await shot('ssh-fleet-tokens');
    const issued = await e2e.server.authority.ssh.fleetSign(secret, {
      type: 'host',
      host: 'db1.example.com',
      publicKey: generateSshKey(keys.dir, 'db1-host').pub,
    });
    expect(issued.certificate.principals).toEqual(['db1.example.com']);
    expect(issued.certificate.certType).toBe('host');
  }, 60_000);
});
