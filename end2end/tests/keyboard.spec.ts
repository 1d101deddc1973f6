import { randomBytes } from 'node:crypto';
import { expect, request as http, test, type Locator, type Page } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson, newPerson, origin, readCode } from './mailbox';
import { WRONG_CREDENTIALS, onPath } from './session';

// The journeys a person who cannot use a mouse takes, done with the keyboard alone: Tab and
// Shift+Tab to move, typing, Enter to submit or follow a link, Space to tick. No click, no
// `fill`, no `focus()` from the test.

/** The element that has the focus, as the tests describe and compare it. */
interface Focused {
  /** `tag#id "text"`: enough to tell the page's controls apart in a failure message. */
  name: string;
  /** Which element it is: its position in the document (two links may read the same). */
  position: number;
  /** The focus indicator a sighted keyboard user sees: an outline of at least 2 px. */
  indicated: boolean;
  /** Whether it is the page itself (nothing focused). */
  body: boolean;
}

async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { name: 'body', position: -1, indicated: true, body: true };
    const style = getComputedStyle(el);
    const text = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return {
      name: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${text}"`,
      position: Array.from(document.querySelectorAll('*')).indexOf(el),
      indicated: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      body: false,
    };
  });
}

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, at most `max` times, and checks that
 * every control passed on the way shows that it has the focus.
 */
async function tabTo(page: Page, target: Locator, { back = false, max = 40 } = {}): Promise<void> {
  const passed: string[] = [];
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const now = await focused(page);
    passed.push(now.name);
    expect(now.indicated, `${now.name} shows a focus indicator`).toBe(true);
  }
  await expect(target, `reached within ${max} presses; passed: ${passed.join(' → ')}`).toBeFocused();
}

/**
 * Tabs through the whole page from the skip link at its top and checks that the focus reaches
 * every visible control, shows on each, and comes back round to the start (no trap); then the
 * same backwards with Shift+Tab.
 */
async function expectNoTrap(page: Page, where: string): Promise<void> {
  const controls = await page.evaluate(() => {
    const selector = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';
    return Array.from(document.querySelectorAll<HTMLElement>(selector)).filter(
      (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden',
    ).length;
  });
  expect(controls, `${where} has controls`).toBeGreaterThan(2);
  for (const key of ['Tab', 'Shift+Tab']) {
    // Only the starting point is set by the test: the skip link, the page's first control.
    await page.getByRole('link', { name: 'Skip to content' }).focus();
    const start = await focused(page);
    const seen: Focused[] = [start];
    let wrapped = 0;
    let cameRound = false;
    let stoppedAt = '';
    for (let i = 0; i < controls + 5; i++) {
      await page.keyboard.press(key);
      const now = await focused(page);
      if (now.body) {
        // Past the last control the focus may leave the page once before it wraps.
        wrapped += 1;
        if (wrapped > 1) break;
        continue;
      }
      if (now.position === start.position) {
        cameRound = true;
        break;
      }
      if (seen.some((s) => s.position === now.position)) {
        stoppedAt = now.name;
        break;
      }
      expect(now.indicated, `${where}: ${now.name} shows a focus indicator`).toBe(true);
      seen.push(now);
    }
    const path = seen.map((s) => s.name).join(' → ');
    expect(cameRound, `${where}: ${key} comes back to the start after ${path}${stoppedAt ? `, looping at ${stoppedAt}` : ''}`).toBe(true);
    expect(seen.length, `${where}: ${key} reaches every control (${path})`).toBe(controls);
  }
}

/** Types into the focused field and checks it is the one meant. */
async function typeInto(page: Page, field: Locator, text: string): Promise<void> {
  await expect(field).toBeFocused();
  await page.keyboard.type(text);
  await expect(field).toHaveValue(text);
}

test.describe('with the keyboard alone', () => {
  test('the landing page: skip link, then into the page and on to registration', async ({ page }) => {
    await page.goto('/');
    await waitForHydration(page);
    await expectNoTrap(page, '/');
    // Afresh, as a person arrives: the first Tab of a new page.
    await page.goto('/');
    await waitForHydration(page);
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    expect((await focused(page)).indicated).toBe(true);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('main')).toBeFocused();
    // From the main region, the next stop is the page's first link, not the header's.
    await page.keyboard.press('Tab');
    await expect(page.getByRole('main').getByRole('link', { name: 'Create an account' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(onPath('/register'));
  });

  test('registration with a mistake, then activation with a wrong and a right code', async ({ page, baseURL }) => {
    const person = newPerson();
    const main = page.getByRole('main');
    await page.goto('/register');
    await waitForHydration(page);
    await expectNoTrap(page, '/register');

    await test.step('the surname is left out: the focus goes to it, with its error', async () => {
      await tabTo(page, main.getByLabel('First name', { exact: true }));
      await page.keyboard.type(person.firstName);
      await page.keyboard.press('Tab'); // past the surname
      const fields: Array<[string, string]> = [
        ['Email', person.email],
        ['Phone number', person.phoneNumber],
        ['Password', person.password],
      ];
      for (const [label, value] of fields) {
        await page.keyboard.press('Tab');
        await typeInto(page, main.getByLabel(label, { exact: true }), value);
      }
      await page.keyboard.press('Enter');
      const surname = main.getByLabel('Surname', { exact: true });
      await expect(surname).toBeFocused();
      await expect(surname).toHaveAttribute('aria-invalid', 'true');
      // Read out with the field (aria-describedby) and announced when it appears (aria-live).
      await expect(surname).toHaveAccessibleDescription(/./);
      await expect(page.locator('#last_name-error')).toHaveAttribute('aria-live', 'polite');
      await expectAccessible(page, '/register with the focus on the missing surname');
    });

    await test.step('fixed and sent with Enter', async () => {
      await page.keyboard.type(person.lastName);
      await page.keyboard.press('Enter');
      await expect(page).toHaveURL(onPath('/activate'));
    });

    await test.step('a wrong code: the focus goes to the message', async () => {
      const code = await readCode(page.request, origin(baseURL), person.email);
      const wrong = String((Number(code) + 1) % 10_000).padStart(code.length, '0');
      const field = main.getByLabel('Activation code', { exact: true });
      await tabTo(page, field);
      await typeInto(page, field, wrong);
      await page.keyboard.press('Enter');
      const alert = main.getByRole('alert').filter({ hasText: 'That code is wrong' });
      await expect(alert).toBeFocused();

      await tabTo(page, field, { back: true });
      await page.keyboard.press('Control+A');
      await page.keyboard.type(code);
      await expect(field).toHaveValue(code);
      await page.keyboard.press('Enter');
    });

    await test.step('the right code: the confirmation takes the focus, its link goes on', async () => {
      const done = main.getByRole('heading', { name: 'Your account is active' });
      await expect(done).toBeFocused();
      await page.keyboard.press('Tab');
      await expect(main.getByRole('link', { name: 'Sign in' })).toBeFocused();
      await page.keyboard.press('Enter');
      await expect(page).toHaveURL(onPath('/login'));
    });
  });

  test('sign-in with a wrong password, then the account page', async ({ page, baseURL }) => {
    const person = await activatedPerson(page.request, baseURL);
    const main = page.getByRole('main');
    await page.goto('/login');
    await waitForHydration(page);
    await expectNoTrap(page, '/login');

    await test.step('a wrong password: the focus goes to the message', async () => {
      await tabTo(page, main.getByLabel('Email', { exact: true }));
      await page.keyboard.type(person.email);
      await page.keyboard.press('Tab');
      await typeInto(page, main.getByLabel('Password', { exact: true }), `${person.password}!`);
      await page.keyboard.press('Enter');
      await expect(main.getByRole('alert').filter({ hasText: WRONG_CREDENTIALS })).toBeFocused();
    });

    await test.step('Shift+Tab back to the password, corrected, Enter signs in', async () => {
      const password = main.getByLabel('Password', { exact: true });
      await tabTo(page, password, { back: true });
      await page.keyboard.press('Control+A');
      await page.keyboard.type(person.password);
      await page.keyboard.press('Enter');
      await expect(page).toHaveURL(onPath('/account'));
      await waitForHydration(page);
    });

    await test.step('the account page: every control reachable, the profile saved from the keyboard', async () => {
      // The sessions list holds buttons too: count the controls once it is there.
      await expect(main.getByText('(this browser)')).toBeVisible();
      await expectNoTrap(page, '/account');
      const first = main.getByLabel('First name', { exact: true });
      await tabTo(page, first);
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Enter');
      await expect(first).toBeFocused();
      await expect(first).toHaveAttribute('aria-invalid', 'true');
      await page.keyboard.type('Augusta');
      await page.keyboard.press('Enter');
      await expect(main.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
      await expect(page.getByRole('banner').getByRole('link', { name: `Augusta ${person.lastName}` })).toBeVisible();
    });

    await test.step('the delete form: nothing happens until the box is ticked with Space', async () => {
      // (The "Password" section is named so too: the field is the textbox.)
      const password = main.getByRole('textbox', { name: 'Password', exact: true });
      await tabTo(page, password);
      await page.keyboard.type(person.password);
      await page.keyboard.press('Tab');
      const tick = main.getByRole('checkbox', { name: /cannot be undone/ });
      await expect(tick).toBeFocused();
      await page.keyboard.press('Space');
      await expect(tick).toBeChecked();
      await page.keyboard.press('Tab');
      await expect(main.getByRole('button', { name: 'Delete my account' })).toBeFocused();
      // Not pressed: the account stays for the other steps' sake.
    });
  });

  test('checkout: a product into the cart and the order placed', async ({ page, baseURL }) => {
    const server = origin(baseURL);
    const admin = newAdmin();
    createAdmin(admin);
    const api = await http.newContext({ baseURL: server });
    const signedIn = await api.post('/api/login', { data: { email: admin.email, password: admin.password } });
    expect(signedIn.status(), await signedIn.text()).toBe(200);
    const name = `Keyboard kettle ${randomBytes(4).toString('hex')}`;
    const created = await api.post('/api/create-product', { data: { name, price: '12.50', stock: 4 } });
    expect(created.status(), await created.text()).toBe(201);
    const product = (await created.json()) as { id: string };
    await api.dispose();

    const person = await activatedPerson(page.request, baseURL);
    const login = await page.request.post(new URL('/api/login', server).toString(), {
      data: { email: person.email, password: person.password },
    });
    expect(login.status(), await login.text()).toBe(200);

    const main = page.getByRole('main');
    await page.goto(`/products/${product.id}`);
    await waitForHydration(page);
    await expectNoTrap(page, 'a product page');

    await test.step('too many: the focus stays on the quantity, with the reason', async () => {
      const quantity = main.getByLabel('Quantity', { exact: true });
      await tabTo(page, quantity);
      await page.keyboard.press('Control+A');
      await page.keyboard.type('9');
      await page.keyboard.press('Enter');
      await expect(quantity).toBeFocused();
      await expect(quantity).toHaveAttribute('aria-invalid', 'true');
      await expect(quantity).toHaveAccessibleDescription('Only 4 in stock.');
    });

    await test.step('two of them, announced, then on to the cart', async () => {
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
      await page.keyboard.press('Enter');
      await expect(main.getByRole('status')).toContainText(`Added 2 × ${name} to your cart.`);
      await tabTo(page, main.getByRole('link', { name: 'View your cart' }));
      await page.keyboard.press('Enter');
      await expect(page).toHaveURL(onPath('/cart'));
      await waitForHydration(page);
    });

    await test.step('the cart: every control reachable; Enter on "Place order" places it', async () => {
      await expectNoTrap(page, '/cart');
      await tabTo(page, main.getByRole('button', { name: 'Place order', exact: true }));
      await page.keyboard.press('Enter');
      await expect(page).toHaveURL((url) => /^\/orders\/[0-9a-f-]{36}$/.test(url.pathname));
      await expect(main.getByRole('status')).toContainText('your order is placed');
    });
  });
});
