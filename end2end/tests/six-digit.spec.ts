import { expect, test } from '@playwright/test';
import { newPerson, origin, readCode, registerInBrowser } from './mailbox';
import { SIX_DIGIT_CODE_LENGTH, SIX_DIGIT_CODE_TTL_SECS, serverOrigin } from './servers';

// The third server of playwright.config.ts: ACTIVATION_CODE_LENGTH=6, and codes that live
// SIX_DIGIT_CODE_TTL_SECS (not the default 60 s). The page must learn both from the server.
test.use({ baseURL: serverOrigin('E2E_SIX_DIGIT_PORT') });

const COUNTDOWN = /^The code expires in (\d+) seconds?\.$/;
/**
 * The lifetime the activation page falls back to when it does not know the server's (and the
 * usual server's): a countdown showing more than this can only have started from this server's.
 */
const DEFAULT_CODE_TTL_SECS = 60;

test.describe('a server with 6-digit codes', () => {
  test('says so on /activate, counts down from its code lifetime, and activates with 6 digits', async ({
    page,
    request,
    baseURL,
  }) => {
    const server = origin(baseURL);
    const person = newPerson();
    const codeInput = page.getByLabel('Activation code', { exact: true });

    await test.step('register in the browser', async () => {
      await registerInBrowser(page, person);
    });

    await test.step('the activation page says how many digits to expect', async () => {
      // The hint under the field, which describes it.
      await expect(codeInput).toHaveAccessibleDescription(
        `The ${SIX_DIGIT_CODE_LENGTH} digits from the email we sent you.`,
      );
    });

    await test.step("the countdown starts from the server's code lifetime", async () => {
      const timer = page.getByRole('timer');
      const secondsLeft = async (): Promise<number> => {
        const match = COUNTDOWN.exec(((await timer.textContent()) ?? '').trim());
        return match?.[1] === undefined ? Number.NaN : Number(match[1]);
      };
      // NaN (no countdown yet) never passes, so this waits for the first number of seconds.
      await expect
        .poll(secondsLeft, { message: `the countdown shows at most ${SIX_DIGIT_CODE_TTL_SECS} seconds` })
        .toBeLessThanOrEqual(SIX_DIGIT_CODE_TTL_SECS);
      // Not "close to 120": how far it has run down by the first look depends on the machine's
      // speed. Above the default lifetime it can only have started from this server's, and that
      // leaves a whole minute between the code being sent and the first look.
      expect(
        await secondsLeft(),
        `the countdown started from this server's ${SIX_DIGIT_CODE_TTL_SECS} s, not from the default ${DEFAULT_CODE_TTL_SECS} s`,
      ).toBeGreaterThan(DEFAULT_CODE_TTL_SECS);
    });

    await test.step('the emailed 6-digit code activates the account', async () => {
      const code = await readCode(request, server, person.email);
      expect(code, 'the code in the email').toMatch(new RegExp(`^\\d{${SIX_DIGIT_CODE_LENGTH}}$`));
      await codeInput.fill(code);
      await page.getByRole('button', { name: 'Activate', exact: true }).click();
      await expect(page.getByRole('heading', { name: 'Your account is active' })).toBeVisible();
      await expect(page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute(
        'href',
        '/login',
      );
    });
  });
});
