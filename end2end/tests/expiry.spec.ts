import { expect, test } from '@playwright/test';
import { expectAccessible } from './helpers';
import { newPerson, origin, readCode, readCodes, registerInBrowser } from './mailbox';
import { SHORT_TTL_CODE_TTL_SECS, serverOrigin } from './servers';

// The second server of playwright.config.ts: its codes live SHORT_TTL_CODE_TTL_SECS (30 s), so
// the resend cooldown (30 s, or the code lifetime when shorter) is over by then too. Short enough
// to wait out; long enough that the new code below is surely used while it lives, however slow
// the machine: only the first code's death is waited for, never a race against the second's.
const CODE_TTL_MS = SHORT_TTL_CODE_TTL_SECS * 1000;
test.use({ baseURL: serverOrigin('E2E_SHORT_TTL_PORT') });

test.describe('an activation code that expired', () => {
  test('is refused, and a new one can be sent and used', async ({ page, request, baseURL }) => {
    // The code's lifetime is waited out once, on top of a registration and an activation.
    test.setTimeout(CODE_TTL_MS + 120_000);
    const server = origin(baseURL);
    const person = newPerson();
    await registerInBrowser(page, person);
    // The code was issued before the page reached /activate: it is dead by this time + its
    // lifetime.
    const registeredAt = Date.now();
    const firstCode = await readCode(request, server, person.email);

    // The one deliberate wait: let the code expire (with half a second to spare).
    await page.waitForTimeout(Math.max(0, registeredAt + CODE_TTL_MS + 500 - Date.now()));
    const code = page.getByLabel('Activation code', { exact: true });
    const activate = page.getByRole('button', { name: 'Activate', exact: true });
    await code.fill(firstCode);
    await activate.click();
    await expect(
      page.getByRole('alert').filter({ hasText: 'This code has expired. Ask for a new one.' }),
    ).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Your account is active' })).toHaveCount(0);
    await expectAccessible(page, '/activate with the code expired');

    // The cooldown is over too.
    const resend = page.getByRole('button', { name: 'Send a new code' });
    await expect(resend).toBeEnabled();
    const mailsBefore = (await readCodes(request, server, person.email)).length;
    await resend.click();
    // The new code lives as long: start watching the mailbox at once. It is told apart from the
    // first by the mail count (`afterMails`), not by its digits (`after`), which could repeat.
    const newCode = readCode(request, server, person.email, { afterMails: mailsBefore });
    newCode.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    await expect(page.getByText('We sent a new code to your email.')).toBeVisible();

    await code.fill(await newCode);
    await activate.click();
    await expect(page.getByRole('heading', { name: 'Your account is active' })).toBeVisible();
    await expect(page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute('href', '/login');
  });
});
