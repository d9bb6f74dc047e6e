// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): deleting an expired certificate record
// from its page. The server's clock runs 3 h behind the browser's at first, so a 1 h certificate issued then has
// expired for the browser (the Delete button is offered) but not for the server, which refuses it
// (409 certificate.not_deletable, shown in the dialog, the record kept); once the server's clock is set right, the
// deletion goes through, the console goes back to the list with a toast, and the audit log keeps the serial. Only
// users who may delete (ca:write: admins) see the button. openssl verifies the certificates when they are issued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, createUsers, issueServerCertificate, PASSWORD } from './support/console-pki';

const HOUR = 3_600_000;

describe('web console: deleting an expired certificate record (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  /** the server's clock = the real one + offset */
  let offset = -3 * HOUR;
  const ids: { expired?: string; active?: string } = {};
  let expiredSerial = '';

  const deleteButton = () => page.getByRole('button', { name: 'Delete', exact: true });
  const openCertificate = async (id: string, heading: string) => {
    await page.goto(`${base}/certificates/${id}`);
    await page.getByRole('heading', { name: heading }).waitFor();
    // the page's last button: once it is there, every action button is rendered
    await page.getByRole('button', { name: 'Export' }).waitFor();
  };

  beforeAll(async () => {
    session = await openConsole({
      prefix: 'pkim-e2e-cert-delete',
      authority: { clock: { now: () => Date.now() + offset } },
    });
    ({ server, page, base } = session);
    const hierarchy = await createE2eHierarchy(server.authority);
    const checkAt = Date.now() + offset + 60_000;
    const expired = await issueServerCertificate(server.authority, hierarchy, 'old.example.com', {
      validityMs: HOUR,
      checkAt,
    });
    ids.expired = expired.certificate.id;
    expiredSerial = expired.certificate.serialHex;
    ids.active = (
      await issueServerCertificate(server.authority, hierarchy, 'live.example.com', { checkAt })
    ).certificate.id;
    await createUsers(server.authority, [['olga', 'operator']]);
  }, 240_000);

  afterAll(async () => session?.close());

  it('offers no Delete to an operator (no ca:write), even for an expired certificate', async () => {
    await session.signIn('olga', PASSWORD);
    await openCertificate(ids.expired!, 'old.example.com');
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(1);
    expect(await deleteButton().count()).toBe(0);
  }, 60_000);

  it('offers no Delete for a certificate that has not expired', async () => {
    await session.signIn('admin', session.adminPassword);
    await openCertificate(ids.active!, 'live.example.com');
    expect(await deleteButton().count()).toBe(0);
  }, 60_000);

  it("shows the server's refusal in the dialog and keeps the record", async () => {
    await openCertificate(ids.expired!, 'old.example.com');
    await deleteButton().click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Delete this certificate record?').waitFor();
    await session.shot('certificate-delete-confirmation');
    await dialog.getByRole('button', { name: 'Delete certificate' }).click();
    const code = dialog.locator('[data-error-code="certificate.not_deletable"]');
    await code.waitFor();
    expect(await dialog.textContent()).toContain('only expired certificates can be deleted');
    expect(page.url()).toBe(`${base}/certificates/${ids.expired}`);
    expect((await server.authority.certificates.get(ids.expired!)).certificate.serialHex).toBe(expiredSerial);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  }, 60_000);

  it('deletes it once the server agrees: back to the list with a toast, the record gone, the audit kept', async () => {
    offset = 0;
    await openCertificate(ids.expired!, 'old.example.com');
    await deleteButton().click();
    const dialog = page.getByRole('alertdialog');
    // the dialog opens clean: the refusal of the previous attempt is not shown again
    await dialog.getByText('Delete this certificate record?').waitFor();
    expect(await dialog.locator('[data-error-code]').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Delete certificate' }).click();
    const toast = page.getByTestId('toast');
    await toast.getByText('Certificate deleted').waitFor();
    expect(await toast.textContent()).toContain(expiredSerial);
    await page.waitForURL(`${base}/certificates`);
    await page.getByTestId('certificates-table').getByRole('link', { name: 'live.example.com' }).waitFor();
    expect(await page.getByTestId('certificates-table').textContent()).not.toContain('old.example.com');
    await expect(server.authority.certificates.get(ids.expired!)).rejects.toMatchObject({
      code: 'certificate.not_found',
    });
    const events = await server.authority.audit.list({ limit: 20, order: 'desc' });
    const deleted = events.find((e) => e.action === 'certificate.deleted');
    expect(deleted?.details).toMatchObject({ serial: expiredSerial });
    // the other certificate is still there
    expect((await server.authority.certificates.get(ids.active!)).certificate.id).toBe(ids.active);
  }, 60_000);
});
