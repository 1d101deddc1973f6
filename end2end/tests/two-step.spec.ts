import { createHmac } from 'node:crypto';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson, origin } from './mailbox';
import { expectSignedInAs, onPath, openLogin, signIn, signOut, submitLogin } from './session';

/** RFC 4648 base32, as the key is shown (spaces between groups of four ignored). */
function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/\s/g, '').replace(/=+$/, '')) {
    const value = alphabet.indexOf(c.toUpperCase());
    if (value < 0) throw new Error(`not base32: ${c}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The authenticator app of the test: RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps. */
class Authenticator {
  private lastStep = -1;

  constructor(private readonly secret: Buffer) {
    expect(secret.length, 'a 160-bit secret').toBe(20);
  }

  private codeAt(step: number): string {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = createHmac('sha1', this.secret).update(counter).digest();
    const offset = mac[mac.length - 1] & 0x0f;
    const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
    return String(value).padStart(6, '0');
  }

  /**
   * A code the server has not accepted yet: of the current step, or the next one when the
   * current one was used (the server takes one step either side). Waits for the clock to reach
   * a step when both were used: an event, not a guess at a delay.
   */
  async nextCode(page: Page): Promise<string> {
    const now = () => Math.floor(Date.now() / 30_000);
    const step = Math.max(now(), this.lastStep + 1);
    while (step > now() + 1) await page.waitForTimeout(200);
    this.lastStep = step;
    return this.codeAt(step);
  }
}

function twoStep(page: Page): Locator {
  return page.getByRole('region', { name: 'Two-step sign-in', exact: true });
}

test.describe('two-step sign-in', () => {
  test('an authenticator app is set up, then signs in with its codes and a recovery code (keyboard only)', async ({
    page,
    request,
    baseURL,
  }) => {
    test.setTimeout(120_000);
    const person = await activatedPerson(request, origin(baseURL));
    await openLogin(page);
    await signIn(page, person.email, person.password);

    // Set up: the password, then the QR code and the key to type, then a code from the app.
    const section = twoStep(page);
    await expect(section).toContainText('Off.');
    await section.getByLabel('Your password', { exact: true }).fill(person.password);
    await section.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const key = section.locator('#authenticator-key');
    await expect(key).toHaveText(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
    await expect(section.getByRole('img', { name: 'QR code of the authenticator secret' }).locator('svg')).toBeVisible();
    await expectAccessible(page, '/account, setting up an authenticator app');
    const app = new Authenticator(base32((await key.textContent()) ?? ''));

    // A wrong code first: said on the field, nothing turned on.
    const codeField = section.getByLabel('Code from the app', { exact: true });
    await codeField.fill('12345');
    await section.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await expect(section).toContainText('That code is not right.');
    await expect(codeField).toHaveAttribute('aria-invalid', 'true');
    await codeField.fill(await app.nextCode(page));
    await section.getByRole('button', { name: 'Turn on two-step sign-in' }).click();

    // Ten recovery codes, shown once, to copy or download.
    const codes = section.getByRole('listitem');
    await expect(codes).toHaveCount(10);
    const recovery = (await codes.allTextContents()).map((c) => c.trim());
    for (const code of recovery) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
    const download = section.getByRole('link', { name: 'Download as a text file' });
    await expect(download).toHaveAttribute('download', 'recovery-codes.txt');
    expect(decodeURIComponent((await download.getAttribute('href')) ?? '')).toContain(recovery[9]);
    await expectAccessible(page, '/account, the recovery codes');
    await section.getByRole('button', { name: 'I have saved them' }).click();
    await expect(section).toContainText('On: signing in asks for a code');
    await expect(section).toContainText('10 recovery codes left.');

    // Signing in now takes a second step; the password alone opens nothing.
    await signOut(page);
    await openLogin(page);
    await submitLogin(page, person.email, person.password);
    const main = page.getByRole('main');
    const appCode = main.getByLabel('Code from your authenticator app', { exact: true });
    await expect(appCode).toBeVisible();
    await expect(page).toHaveURL(onPath('/login'));
    await expectAccessible(page, '/login, the second step');
    await appCode.fill(await app.nextCode(page));
    await main.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page).toHaveURL(onPath('/account'));
    await waitForHydration(page);
    await expectSignedInAs(page, `${person.firstName} ${person.lastName}`);

    // With the keyboard alone: a recovery code instead of the app.
    await signOut(page);
    await openLogin(page);
    await main.getByLabel('Email', { exact: true }).focus();
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await expect(main.getByLabel('Password', { exact: true })).toBeFocused();
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await expect(appCode).toBeVisible();
    await appCode.focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const toggle = main.getByRole('button', { name: 'Use a recovery code instead' });
    await expect(toggle).toBeFocused();
    await page.keyboard.press('Enter');
    const recoveryField = main.getByLabel('Recovery code', { exact: true });
    await expect(recoveryField).toBeVisible();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await expect(recoveryField).toBeFocused();
    // As written down, in lower case with spaces: still the code.
    await page.keyboard.type(recovery[0].toLowerCase().replaceAll('-', ' '));
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(onPath('/account'));
    await waitForHydration(page);
    await expect(twoStep(page)).toContainText('9 recovery codes left.');
  });
});
