import { expect, test, type Locator, type Page } from '@playwright/test';
import { waitForHydration } from './helpers';
import { activatedPerson, newPerson, origin, readCode, readSubjects, SUBJECTS } from './mailbox';
import {
  WRONG_CREDENTIALS,
  expectSignedInAs,
  expectSignedOut,
  onPath,
  openLogin,
  signIn,
  signOut,
  submitLogin,
} from './session';

/** A section of /account, by its heading (each is a `<section aria-labelledby>`). */
function section(page: Page, name: string): Locator {
  return page.getByRole('region', { name, exact: true });
}

function accountHeading(page: Page): Locator {
  return page.getByRole('heading', { name: 'Your account', exact: true, level: 1 });
}

test.describe('the account page', () => {
  test('shows devices by name, times as a person reads them (the exact time on hover) and the phone number spaced', async ({
    page,
    request,
    baseURL,
  }) => {
    const person = await activatedPerson(request, origin(baseURL));
    await openLogin(page);
    await signIn(page, person.email, person.password);

    const sessions = section(page, 'Where you are signed in');
    const current = sessions.getByRole('listitem').filter({ hasText: '(this browser)' });
    // Playwright's "Desktop Chrome" device says Chrome on Windows; the whole user agent stays
    // in the tooltip.
    const agent = await page.evaluate(() => navigator.userAgent);
    expect(agent).toContain('Windows NT');
    await expect(current).toContainText('Browser · Chrome on Windows · last seen just now');
    await expect(current.locator(`span[title="${agent}"]`)).toHaveText('Chrome on Windows');
    const seen = current.locator('time');
    await expect(seen).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    await expect(seen).toHaveAttribute('title', /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC/);

    const history = section(page, 'Security history');
    await expect(history.getByRole('listitem').first()).toContainText(/just now|minutes? ago/);
    // The phone number reads as people write it, not as stored (E.164).
    await expect(section(page, 'Profile').getByLabel('Phone number', { exact: true })).toHaveValue(
      person.phoneNumber,
    );
    // No raw ISO timestamp is left anywhere on the page once it has hydrated.
    await expect(page.getByRole('main')).not.toContainText(/\d{4}-\d\d-\d\dT\d\d/);
  });

  test('edits the profile, changes email and password, signs out and in, deletes the account', async ({
    page,
    request,
    baseURL,
  }) => {
    // One story with a dozen password checks and two full sign-ins: give it three times as long.
    test.slow();
    const server = origin(baseURL);
    const person = await activatedPerson(request, server);
    const newFirstName = 'Augusta';
    const newName = `${newFirstName} ${person.lastName}`;
    const newEmail = newPerson().email;
    const newPassword = `${person.password} renewed`;

    await test.step('sign in', async () => {
      await openLogin(page);
      await signIn(page, person.email, person.password);
      await expect(accountHeading(page)).toBeVisible();
      await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);
    });

    await test.step('edit the profile', async () => {
      const profile = section(page, 'Profile');
      await profile.getByLabel('First name', { exact: true }).fill(newFirstName);
      await profile.getByRole('button', { name: 'Save profile', exact: true }).click();
      await expect(profile.getByRole('status')).toHaveText('Saved.');

      await page.reload();
      await waitForHydration(page);
      await expectSignedInAs(page, newName);
      await expect(section(page, 'Profile').getByLabel('First name', { exact: true })).toHaveValue(newFirstName);
    });

    await test.step('change the email, with the code sent to the new address', async () => {
      const email = section(page, 'Email address');
      await email.getByLabel('New email', { exact: true }).fill(newEmail);
      await email.getByLabel('Your password', { exact: true }).fill(person.password);
      await email.getByRole('button', { name: 'Send a code', exact: true }).click();
      await expect(email.getByRole('status')).toHaveText(`We sent a code to ${newEmail}. Enter it below to confirm.`);

      const code = await readCode(request, server, newEmail, { subject: SUBJECTS.emailChange });
      await email.getByLabel('Code from the new address', { exact: true }).fill(code);
      await email.getByRole('button', { name: 'Confirm new email', exact: true }).click();
      await expect(email.getByRole('status')).toHaveText(`Your email is now ${newEmail}.`);
      // The old address is told, too.
      await expect
        .poll(() => readSubjects(request, server, person.email), { message: 'a notice to the old address' })
        .toContain('Your email address is about to change');
    });

    await test.step('change the password', async () => {
      const password = section(page, 'Password');
      await password.getByLabel('Current password', { exact: true }).fill(person.password);
      await password.getByLabel('New password', { exact: true }).fill(newPassword);
      await password.getByRole('button', { name: 'Change password', exact: true }).click();
      await expect(password.getByRole('status')).toHaveText('Password changed. Every other session was signed out.');
      await expect(password.getByLabel('Current password', { exact: true })).toHaveValue('');
      await expect
        .poll(() => readSubjects(request, server, newEmail), { message: 'a notice to the new address' })
        .toContain('Your password was changed');
    });

    await test.step('sign out', async () => {
      await signOut(page);
    });

    await test.step('sign in with the new email and the new password', async () => {
      await openLogin(page);
      await signIn(page, newEmail, newPassword);
      await expect(accountHeading(page)).toBeVisible();
      await expectSignedInAs(page, newName);
      await expect(section(page, 'Email address')).toContainText(`Currently ${newEmail}.`);
    });

    await test.step('delete the account', async () => {
      const danger = section(page, 'Delete your account');
      const deleteButton = danger.getByRole('button', { name: 'Delete my account', exact: true });
      await expect(deleteButton).toBeDisabled();
      await danger.getByLabel('Password', { exact: true }).fill(newPassword);
      await danger.getByRole('checkbox', { name: 'I understand that this cannot be undone', exact: true }).check();
      await expect(deleteButton).toBeEnabled();
      await deleteButton.click();

      await expect(page).toHaveURL(onPath('/'));
      await waitForHydration(page);
      await expectSignedOut(page);
      await expect
        .poll(() => readSubjects(request, server, newEmail), { message: 'a goodbye to the address in use' })
        .toContain('Your account was deleted');
    });

    await test.step('signing in again fails', async () => {
      await openLogin(page);
      await submitLogin(page, newEmail, newPassword);
      await expect(page.getByRole('main').getByRole('alert')).toHaveText(WRONG_CREDENTIALS);
      await expect(page).toHaveURL(onPath('/login'));
      await expectSignedOut(page);
    });
  });

  test('sends an anonymous visitor to sign in, and back to /account after', async ({ page, request, baseURL }) => {
    const person = await activatedPerson(request, baseURL);

    await page.goto('/account');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/account');
    await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
    await waitForHydration(page);
    await expectSignedOut(page);

    await signIn(page, person.email, person.password, '/account');
    await expect(accountHeading(page)).toBeVisible();
    await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);
  });
});

test.describe('signing in', () => {
  test('with a wrong password shows an error and stays on /login', async ({ page, request, baseURL }) => {
    const person = await activatedPerson(request, baseURL);

    await openLogin(page);
    await submitLogin(page, person.email, `${person.password} wrong`);
    await expect(page.getByRole('main').getByRole('alert')).toHaveText(WRONG_CREDENTIALS);
    await expect(page).toHaveURL(onPath('/login'));
    await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
    await expectSignedOut(page);

    // The form still works: the right password signs in.
    await signIn(page, person.email, person.password);
    await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);
  });
});
