import { expect, test, type Page } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, queryNames, waitForHydration } from './helpers';
import { activatedPerson, origin } from './mailbox';
import { banner, onPath, openLogin, signIn } from './session';

function fact(page: Page, term: string) {
  // <dt>term</dt><dd>value</dd>
  return page.locator('dl.facts dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
}

/** A timestamp as stored (`2026-11-30T06:43:57.017Z`), which no page shows a person. */
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d/;

test.describe('administration', () => {
  test('finds a person by part of their phone, disables, enables and deletes them, on the record', async ({
    page,
    browser,
    request,
    baseURL,
  }) => {
    // Three full page loads in two browsers and a handful of password checks.
    test.slow();
    const server = origin(baseURL);
    const admin = newAdmin();
    expect(createAdmin(admin)).toContain(admin.email);
    const person = await activatedPerson(request, server);
    const name = `${person.firstName} ${person.lastName}`;
    // "+44 20 7123 4567" → "123-4567": part of the number, in another format.
    const digits = person.phoneNumber.replace(/\D/g, '');
    const phonePart = `${digits.slice(-7, -4)}-${digits.slice(-4)}`;

    // The person is signed in, in a browser of their own.
    const theirs = await browser.newContext();
    const theirPage = await theirs.newPage();
    await test.step('the person signs in elsewhere; /admin does not exist for them', async () => {
      await openLogin(theirPage);
      await signIn(theirPage, person.email, person.password);
      const response = await theirPage.goto('/admin');
      expect(response?.status()).toBe(404);
      await expect(theirPage.getByRole('heading', { name: 'Page not found' })).toBeVisible();
      await expect(banner(theirPage).getByRole('link', { name: 'Administration' })).toHaveCount(0);
    });

    await test.step('the administrator signs in and finds them by part of their phone number', async () => {
      await openLogin(page, '/login?next=/admin');
      await signIn(page, admin.email, admin.password, '/admin');
      await expect(banner(page).getByRole('link', { name: 'Administration', exact: true })).toBeVisible();
      const main = page.getByRole('main');
      await main.getByLabel('Search', { exact: true }).fill(phonePart);
      await main.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(page).toHaveURL((url) => url.searchParams.get('q') === phonePart);
      // The form's fields and nothing else (no nameless `=` from the button).
      expect(queryNames(page)).toEqual(['q', 'status', 'role', 'sort']);
      // The rows of accounts (the header row has no cells): this person's, once, and no account
      // that does not match the search (polled until the list is the search's: the one before
      // it shows others). Not "only this person": the search is for seven digits, which another
      // test's address (with a millisecond timestamp in it) may hold by chance.
      const found = main.getByRole('table').getByRole('row').filter({ has: page.getByRole('cell') });
      // As the server reads the part: its digits, less a leading trunk 0 (or international 00).
      const searched = phonePart.replace(/\D/g, '').replace(/^00?/, '');
      await expect
        .poll(
          async () => {
            const texts = await found.allInnerTexts();
            return {
              thisPerson: texts.filter((text) => text.includes(person.email)).length,
              notMatching: texts.filter((text) => !text.replace(/\D/g, '').includes(searched)),
            };
          },
          { message: `the accounts whose email or phone holds ${searched}, this person among them` },
        )
        .toEqual({ thisPerson: 1, notMatching: [] });
      const theirRow = found.filter({ hasText: person.email });
      // Times read as a person reads them, the exact time on hover; no raw ISO timestamp.
      const registered = theirRow.getByRole('cell').nth(5).locator('time');
      await expect(registered).toHaveText(/just now|minutes? ago/);
      await expect(registered).toHaveAttribute('title', /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC/);
      await expect(main).not.toContainText(ISO_TIME);
      await theirRow.getByRole('link', { name, exact: true }).click();
      await expect(page).toHaveURL(/\/admin\/users\/[0-9a-f-]{36}$/);
      await expect(page.getByRole('heading', { name, exact: true, level: 2 })).toBeVisible();
      await expect(fact(page, 'Status')).toHaveText('active');
      await expect(fact(page, 'Registered')).toHaveText(/just now|minutes? ago/);
      await expect(main).not.toContainText(ISO_TIME);
    });
    const userPath = new URL(page.url()).pathname;

    await test.step('disables them, after a confirmation naming the account; their session ends', async () => {
      const main = page.getByRole('main');
      await main.getByRole('button', { name: 'Disable…', exact: true }).click();
      const confirm = main.getByRole('group');
      await expect(confirm).toContainText(`Disable ${name} (${person.email})?`);
      await expectAccessible(page, 'the disable confirmation');
      await confirm.getByLabel('Reason (for administrators only)').fill('Sends spam to other members');
      await confirm.getByRole('button', { name: 'Disable account', exact: true }).click();
      await expect(main.getByRole('status')).toHaveText('The account is disabled and signed out everywhere.');
      await expect(fact(page, 'Status')).toHaveText('disabled');
      await expect(main.getByText('Sends spam to other members')).toBeVisible();

      await theirPage.goto('/account');
      await expect(theirPage).toHaveURL(onPath('/login'));
    });

    await test.step('enables them again', async () => {
      const main = page.getByRole('main');
      await main.getByRole('button', { name: 'Enable', exact: true }).click();
      await expect(main.getByRole('status')).toHaveText('The account is enabled.');
      await expect(fact(page, 'Status')).toHaveText('active');
      await expect(main.getByText('enabled by an administrator')).toBeVisible();
    });

    await test.step('reads both acts in the audit log', async () => {
      const main = page.getByRole('main');
      await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Audit log' }).click();
      await expect(page).toHaveURL(onPath('/admin/audit'));
      await main.getByLabel('Target', { exact: true }).fill(person.email);
      await main.getByRole('button', { name: 'Filter', exact: true }).click();
      await expect(page).toHaveURL((url) => url.searchParams.get('target') === person.email);
      expect(queryNames(page)).toEqual(['actor', 'target']);
      const rows = main.getByRole('table').getByRole('row');
      await expect(rows).toHaveCount(3);
      await expect(rows.nth(1)).toContainText('user enabled');
      await expect(rows.nth(2)).toContainText('user disabled');
      await expect(rows.nth(2)).toContainText(admin.email);
      await expect(rows.nth(2)).toContainText('Sends spam to other members');
      await expect(main).not.toContainText(ISO_TIME);
    });

    await test.step('deletes them, after a confirmation; they are gone from the table', async () => {
      await page.goto(userPath);
      await waitForHydration(page);
      const main = page.getByRole('main');
      await main.getByRole('button', { name: 'Delete…', exact: true }).click();
      const confirm = main.getByRole('group');
      await expect(confirm).toContainText(`Delete ${name} (${person.email})? This cannot be undone.`);
      await confirm.getByRole('button', { name: 'Delete account', exact: true }).click();
      await expect(page).toHaveURL(onPath('/admin'));
      await expect(main.getByRole('status')).toHaveText('The account was deleted.');
      await main.getByLabel('Search', { exact: true }).fill(person.email);
      await main.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(main.getByText('Showing 0–0 of 0')).toBeVisible();
    });
    await theirs.close();
  });

  test('the queue page checks that the server and its database answer', async ({ page }) => {
    const admin = newAdmin();
    createAdmin(admin);
    await openLogin(page);
    await signIn(page, admin.email, admin.password);
    await page.goto('/admin/mail');
    await waitForHydration(page);
    const check = page.getByRole('button', { name: 'Check service status' });
    await expect(check).toBeEnabled();
    const statusCall = page.waitForResponse((r) => r.url().includes('/api/status'));
    await check.click();
    expect((await statusCall).status()).toBe(200);
    await expect(page.getByText(/All systems go/)).toBeVisible();
  });

  test('anonymous visitors are sent to sign in first', async ({ page }) => {
    await page.goto('/admin/audit');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/admin/audit');
  });
});
