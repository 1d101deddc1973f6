import { expect, test, type Page } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson } from './mailbox';
import { expectSignedInAs, onPath, openLogin, signIn, signOut, submitLogin } from './session';

// WebAuthn refuses an IP address as a relying party: these pages are opened at `localhost`, the
// name the server's default public address (APP_BASE_URL) gives its loopback address.
const PORT = process.env.E2E_PORT ?? '3100';
test.use({ baseURL: `http://localhost:${PORT}` });
/** The same server by its address, for the API calls made outside the browser. */
const API = `http://127.0.0.1:${PORT}`;

/**
 * Chromium's virtual authenticator in this page's tab (DevTools protocol): a platform
 * authenticator that keeps discoverable credentials and verifies its user (as a fingerprint
 * reader would), with no prompt to answer.
 */
async function virtualAuthenticator(page: Page) {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  const { authenticatorId } = await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    /** The credentials the authenticator holds. */
    credentials: async () => (await devtools.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

test.describe('passkeys', () => {
  test('a passkey is added on the account page, then signs in with no password, and as the second step (keyboard only)', async ({
    page,
    request,
  }) => {
    test.setTimeout(120_000);
    const authenticator = await virtualAuthenticator(page);
    const person = await activatedPerson(request, API);
    await openLogin(page);
    await signIn(page, person.email, person.password);

    // Added with the password, under a name of the person's choosing.
    const section = page.getByRole('region', { name: 'Passkeys', exact: true });
    await expect(section).toContainText('No passkeys yet.');
    const name = section.getByLabel('Name', { exact: true });
    await expect(name).not.toHaveValue('');
    await name.fill('Test laptop');
    await section.getByLabel('Your password', { exact: true }).fill(person.password);
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await expect(section.getByRole('status')).toHaveText('Passkey \u201cTest laptop\u201d added.');
    await expect(section.getByRole('listitem')).toHaveCount(1);
    await expect(section.getByRole('listitem')).toContainText('Test laptop');
    await expect(section.getByRole('listitem')).toContainText('last used never');
    await expectAccessible(page, '/account with a passkey');
    const held = await authenticator.credentials();
    expect(held).toHaveLength(1);
    expect(held[0].isResidentCredential, 'a discoverable credential').toBe(true);

    // Renamed.
    await section.getByRole('button', { name: 'Rename' }).click();
    await expectAccessible(page, '/account, renaming a passkey');
    await section.getByLabel('New name', { exact: true }).fill('Work laptop');
    await section.getByRole('button', { name: 'Save the name' }).click();
    await expect(section.getByRole('listitem')).toContainText('Work laptop');

    // Sign in with the passkey alone: no email, no password.
    await signOut(page);
    await openLogin(page);
    await page.getByRole('main').getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page).toHaveURL(onPath('/account'));
    await waitForHydration(page);
    await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);
    await expect(page.getByRole('region', { name: 'Passkeys', exact: true }).getByRole('listitem')).not.toContainText(
      'last used never',
    );

    // The password now asks for a second step, which the passkey meets; keyboard only.
    await signOut(page);
    await openLogin(page);
    await submitLogin(page, person.email, person.password);
    const main = page.getByRole('main');
    const usePasskey = main.getByRole('button', { name: 'Use a passkey' });
    await expect(usePasskey).toBeVisible();
    await expect(main.getByLabel('Code from your authenticator app', { exact: true })).toHaveCount(0);
    await expect(page).toHaveURL(onPath('/login'));
    await expectAccessible(page, '/login, the second step with a passkey');
    await usePasskey.focus();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(onPath('/account'));
    await waitForHydration(page);
    await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);

    // Removed with the password: the password alone signs in again.
    const passkeys = page.getByRole('region', { name: 'Passkeys', exact: true });
    await passkeys.getByRole('button', { name: 'Remove' }).click();
    await expectAccessible(page, '/account, removing a passkey');
    await passkeys.getByLabel('Your password', { exact: true }).fill(person.password);
    await passkeys.getByRole('button', { name: 'Remove the passkey' }).click();
    await expect(passkeys.getByRole('status')).toHaveText('Passkey \u201cWork laptop\u201d removed.');
    await expect(passkeys).toContainText('No passkeys yet.');
    await signOut(page);
    await openLogin(page);
    await signIn(page, person.email, person.password);
  });

  test('an administrator sees a person\'s passkey and removes their two-step sign-in', async ({ page, browser, request }) => {
    test.setTimeout(120_000);
    await virtualAuthenticator(page);
    const person = await activatedPerson(request, API);
    await openLogin(page);
    await signIn(page, person.email, person.password);
    const section = page.getByRole('region', { name: 'Passkeys', exact: true });
    await section.getByLabel('Your password', { exact: true }).fill(person.password);
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await expect(section.getByRole('listitem')).toHaveCount(1);

    const admin = newAdmin();
    createAdmin(admin);
    const context = await browser.newContext();
    const adminPage = await context.newPage();
    await openLogin(adminPage, '/login?next=/admin');
    await signIn(adminPage, admin.email, admin.password, '/admin');
    const main = adminPage.getByRole('main');
    await main.getByLabel('Search', { exact: true }).fill(person.email);
    await main.getByRole('button', { name: 'Search', exact: true }).click();
    await main.getByRole('link', { name: `${person.firstName} ${person.lastName}` }).click();
    const factors = adminPage.locator('dl.facts dt', { hasText: 'Two-step sign-in' }).locator('xpath=following-sibling::dd[1]');
    await expect(factors).toHaveText('1 passkey');
    await main.getByRole('button', { name: 'Remove two-step sign-in…' }).click();
    await expectAccessible(adminPage, '/admin/users/…, removing two-step sign-in');
    await main.getByRole('button', { name: 'Remove two-step sign-in', exact: true }).click();
    await expect(main.getByRole('status')).toHaveText('Two-step sign-in is removed; the person was emailed.');
    await expect(factors).toHaveText('off');
    await context.close();

    // The person's page, loaded again, has no passkey left.
    await page.reload();
    await waitForHydration(page);
    await expect(page.getByRole('region', { name: 'Passkeys', exact: true })).toContainText('No passkeys yet.');
  });
});
