// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): a requester submits a certificate
// request, opens the dialog again to a fresh form (no CSR left from the last one), an operator approves it, and the
// certificate issued is verified by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, createUsers, PASSWORD } from './support/console-pki';

describe('web console: certificate requests (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  const ids: { root?: string; int?: string } = {};

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-requests' });
    ({ server, page } = session);
    const { root, int } = await createE2eHierarchy(server.authority);
    ids.root = root.id;
    ids.int = int.id;
    await createUsers(server.authority, [
      ['rita', 'requester'],
      ['oscar', 'operator'],
    ]);
  }, 240_000);

  afterAll(async () => session?.close());

  it('a requester submits a request; an operator approves it and the certificate is issued', async () => {
    await session.signIn('rita', PASSWORD);
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=app.example.com',
      sans: ['DNS:app.example.com'],
    });
    await session.nav('Requests');
    await page.getByRole('button', { name: 'New request' }).click();
    await page.getByLabel('Issuing CA').selectOption(ids.int!);
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await page.getByTestId('csr-preview').waitFor();
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.getByText(/Request req_\w+ submitted/).waitFor();
    await page.keyboard.press('Escape');
    // opened again, the dialog is a fresh form: no CSR, preview or result of the request just sent
    await page.getByRole('button', { name: 'New request' }).click();
    const csrField = page.getByLabel('Certificate signing request (PEM)');
    await csrField.waitFor();
    expect(await csrField.inputValue()).toBe('');
    expect(await page.getByTestId('csr-preview').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Submit request' }).isDisabled()).toBe(true);
    await page.keyboard.press('Escape');
    // a requester reviews nothing
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    await session.signIn('oscar', PASSWORD);
    await session.nav('Requests');
    await page.getByTestId('requests-table').waitFor();
    await session.shot('requests');
    await page.getByRole('button', { name: 'Approve' }).first().click();
    await page.getByText(/Approved req_/).waitFor();
    const issued = (await server.authority.certificates.list({ search: 'app.example.com' })).items[0]!;
    expect(issued.requestId).toMatch(/^req_/);
    const cert = await server.authority.certificates.get(issued.id);
    const v = opensslVerify({
      leafPem: cert.certificatePem,
      chainPems: [(await server.authority.cas.get(ids.int!)).certificatePem!],
      rootPem: (await server.authority.cas.get(ids.root!)).certificatePem!,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
  }, 90_000);
});
