import { expect, test } from '@playwright/test';
import { waitForHydration } from './helpers';
import { activatedPerson, origin, readCode, SUBJECTS } from './mailbox';
import { WRONG_CREDENTIALS, expectSignedInAs, onPath, openLogin, signIn, submitLogin } from './session';

test.describe('a forgotten password', () => {
  test('is reset with the emailed code, and the new one signs in', async ({ page, request, baseURL }) => {
    const server = origin(baseURL);
    const person = await activatedPerson(request, server);
    const newPassword = `${person.password} reset`;
    const main = page.getByRole('main');

    await test.step('ask for a code from /login', async () => {
      await openLogin(page);
      await main.getByRole('link', { name: 'Forgot your password?', exact: true }).click();
      await expect(page).toHaveURL(onPath('/forgot-password'));
      await expect(page.getByRole('heading', { name: 'Reset your password', exact: true })).toBeVisible();
      await waitForHydration(page);

      await main.getByLabel('Email', { exact: true }).fill(person.email);
      await main.getByRole('button', { name: 'Email me a code', exact: true }).click();
      await expect(main.getByRole('status')).toHaveText(
        'If an activated account uses that address, a code is on its way. It expires in 10 minutes.',
      );
      // Why the code is long, and what too many wrong ones do.
      await expect(main).toContainText('The code is long because it replaces your password.');
      await expect(main).toContainText('After 20 wrong codes in a day');
    });

    await test.step('set a new password with the code', async () => {
      const code = await readCode(request, server, person.email, { subject: SUBJECTS.passwordReset });
      expect(code).toMatch(/^\d{10}$/);
      const field = main.getByLabel('Code', { exact: true });
      // A numeric keyboard on phones, and the code as the hint shows it: two groups of five.
      await expect(field).toHaveAttribute('inputmode', 'numeric');
      await expect(main).toContainText('10 digits, as in the email (for example 12345 67890)');
      await field.fill(`${code.slice(0, 5)} ${code.slice(5)}`);
      await main.getByLabel('New password', { exact: true }).fill(newPassword);
      await main.getByRole('button', { name: 'Set the new password', exact: true }).click();
      await expect(page.getByRole('heading', { name: 'Your password was changed', exact: true })).toBeVisible();
    });

    await test.step('the old password no longer signs in, the new one does', async () => {
      // The header has a "Sign in" link too: this is the one in the confirmation.
      await main.getByRole('link', { name: 'Sign in', exact: true }).click();
      await expect(page).toHaveURL(onPath('/login'));
      await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
      await waitForHydration(page);

      await submitLogin(page, person.email, person.password);
      await expect(main.getByRole('alert')).toHaveText(WRONG_CREDENTIALS);

      await signIn(page, person.email, newPassword);
      await expect(page.getByRole('heading', { name: 'Your account', exact: true, level: 1 })).toBeVisible();
      await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);
    });
  });
});
