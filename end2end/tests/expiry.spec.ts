import { expect, test } from '@playwright/test';
import { ageCodes } from './database';
import { expectAccessible } from './helpers';
import { newPerson, origin, readCode, readCodes, registerInBrowser } from './mailbox';

// The code's death is not waited for: its row is moved a lifetime into the past (the server's
// own clock then finds it expired, and its resend cooldown over, which never outlasts a code).
// The page is not told: it learns that the code died from the server's answer, as it would from
// a machine whose clock is behind.
const A_LIFETIME_AND_MORE_SECS = 24 * 60 * 60;

test.describe('an activation code that expired', () => {
  test('is refused, and a new one can be sent and used', async ({ page, request, baseURL }) => {
    const server = origin(baseURL);
    const person = newPerson();
    await registerInBrowser(page, person);
    const firstCode = await readCode(request, server, person.email);
    const resend = page.getByRole('button', { name: 'Send a new code' });
    // Within the cooldown, the page offers no new code yet.
    await expect(resend).toBeDisabled();

    ageCodes(person.email, A_LIFETIME_AND_MORE_SECS);
    const code = page.getByLabel('Activation code', { exact: true });
    const activate = page.getByRole('button', { name: 'Activate', exact: true });
    await code.fill(firstCode);
    await activate.click();
    await expect(
      page.getByRole('alert').filter({ hasText: 'This code has expired. Ask for a new one.' }),
    ).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Your account is active' })).toHaveCount(0);
    await expect(page.getByRole('timer')).toHaveText('The code has expired. Send a new one.');
    await expectAccessible(page, '/activate with the code expired');

    // An expired code ends the cooldown at once, on the page as on the server.
    await expect(resend).toBeEnabled();
    const mailsBefore = (await readCodes(request, server, person.email)).length;
    await resend.click();
    // Told apart from the first by the mail count (`afterMails`), not by its digits (`after`),
    // which could repeat.
    const newCode = readCode(request, server, person.email, { afterMails: mailsBefore });
    newCode.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    await expect(page.getByText('We sent a new code to your email.')).toBeVisible();

    await code.fill(await newCode);
    await activate.click();
    await expect(page.getByRole('heading', { name: 'Your account is active' })).toBeVisible();
    await expect(page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute('href', '/login');
  });
});
