import { expect, test, type Locator, type Page } from '@playwright/test';
import { waitForHydration } from './helpers';
import {
  newPerson,
  origin,
  readCode,
  registerBody,
  registerInBrowser,
  type Person,
} from './mailbox';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const FIELD_ERROR = "p[contains(concat(' ', normalize-space(@class), ' '), ' field-error ')]";

/** The error paragraph in the input's wrapper: the nearest ancestor that holds one. */
function errorOf(input: Locator): Locator {
  return input.locator(`xpath=ancestor::*[descendant::${FIELD_ERROR}][1]//${FIELD_ERROR}`);
}

/** `message` shows under `input`, which is marked invalid and described by it. */
async function expectFieldError(input: Locator, message: string): Promise<void> {
  await expect(input).toHaveAttribute('aria-invalid', 'true');
  const error = errorOf(input);
  await expect(error).toHaveText(message);
  const id = await error.getAttribute('id');
  expect(id, 'the field error has an id for aria-describedby').toBeTruthy();
  await expect(input).toHaveAttribute('aria-describedby', new RegExp(`(^|\\s)${escapeRegExp(id ?? '')}(\\s|$)`));
  await expect(input).toHaveAccessibleDescription(new RegExp(escapeRegExp(message)));
}

/** No error under `input` any more (the paragraph may stay, empty). */
async function expectNoFieldError(input: Locator, formerMessage: string): Promise<void> {
  await expect(input).not.toHaveAttribute('aria-invalid', 'true');
  await expect(errorOf(input).filter({ hasText: /\S/ })).toHaveCount(0);
  await expect(input).not.toHaveAccessibleDescription(new RegExp(escapeRegExp(formerMessage)));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

const alertWith = (page: Page, text: string) => page.getByRole('alert').filter({ hasText: text });
const codeInput = (page: Page) => page.getByLabel('Activation code', { exact: true });
const activateButton = (page: Page) => page.getByRole('button', { name: 'Activate', exact: true });
const activeHeading = (page: Page) => page.getByRole('heading', { name: 'Your account is active' });

async function expectActivated(page: Page): Promise<void> {
  await expect(activeHeading(page)).toBeVisible();
  await expect(page.getByRole('main').getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute('href', '/login');
}

test.describe('registration', () => {
  test('registers, reads the emailed code and activates', async ({ page, request, baseURL }) => {
    const person = newPerson();
    const urls: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) urls.push(frame.url());
    });

    await registerInBrowser(page, person);
    // The page knows when the code was sent, and keeps the credentials to itself.
    await expect(page.getByRole('timer')).toHaveText(/^The code expires in \d+ seconds?\.$/);
    await expect(page.locator('[aria-live="polite"]').filter({ hasText: /The code expires in/ })).toHaveCount(1);
    await expect(page.getByLabel('Email', { exact: true })).toBeHidden();
    await expect(page.getByLabel('Password', { exact: true })).toBeHidden();

    const code = await readCode(request, origin(baseURL), person.email);
    await expect(codeInput(page)).toHaveAttribute('inputmode', 'numeric');
    await expect(codeInput(page)).toHaveAttribute('autocomplete', 'one-time-code');
    await codeInput(page).fill(code);
    await activateButton(page).click();
    await expectActivated(page);

    urls.push(page.url());
    for (const url of urls) {
      const { search, hash } = new URL(url);
      const visible = safeDecode(`${search}${hash}`);
      expect(visible, `the URL ${url} carries no email address`).not.toContain(person.email);
      expect(visible, `the URL ${url} carries no password`).not.toContain(person.password);
    }
  });

  test('checks the fields as you type, before anything is sent', async ({ page }) => {
    const sent: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/register') sent.push(r.url());
    });
    await page.goto('/register');
    await waitForHydration(page);

    const email = page.getByLabel('Email', { exact: true });
    const invalidEmail = 'Enter a valid email address, like name@example.com.';
    await email.pressSequentially('ada.lovelace');
    await expectFieldError(email, invalidEmail);
    await email.pressSequentially('@example.com');
    await expect(email).toHaveValue('ada.lovelace@example.com');
    await expectNoFieldError(email, invalidEmail);

    const password = page.getByLabel('Password', { exact: true });
    await password.fill('short');
    await expectFieldError(password, 'Use at least 8 characters.');

    await expect(page).toHaveURL(/\/register$/);
    expect(sent).toEqual([]);
  });

  test('says so under Email when the address is taken', async ({ page, request }) => {
    const first = newPerson();
    const response = await request.post('/api/register', { data: registerBody(first) });
    expect(response.status()).toBe(201);

    const second: Person = { ...newPerson(), email: first.email };
    await page.goto('/register');
    await waitForHydration(page);
    await page.getByLabel('First name', { exact: true }).fill(second.firstName);
    await page.getByLabel('Surname', { exact: true }).fill(second.lastName);
    await page.getByLabel('Email', { exact: true }).fill(second.email);
    await page.getByLabel('Phone number', { exact: true }).fill(second.phoneNumber);
    await page.getByLabel('Password', { exact: true }).fill(second.password);
    await page.getByRole('button', { name: 'Create account' }).click();

    await expectFieldError(
      page.getByLabel('Email', { exact: true }),
      'An account with this email address already exists.',
    );
    await expect(page).toHaveURL(/\/register$/);
    await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  });

  test('a wrong code says how many tries are left, and the right one still works', async ({
    page,
    request,
    baseURL,
  }) => {
    const person = newPerson();
    await registerInBrowser(page, person);
    const code = await readCode(request, origin(baseURL), person.email);
    // Another code of the same length: the last digit moved on by one.
    const wrong = code.slice(0, -1) + String((Number(code.slice(-1)) + 1) % 10);

    await codeInput(page).fill(wrong);
    await activateButton(page).click();
    await expect(alertWith(page, 'That code is wrong. 4 tries left.')).toBeVisible();
    await expect(activeHeading(page)).toHaveCount(0);

    await codeInput(page).fill(code);
    await activateButton(page).click();
    await expectActivated(page);
  });

  test('after a reload, /activate asks for the email and password again', async ({
    page,
    request,
    baseURL,
  }) => {
    const person = newPerson();
    await registerInBrowser(page, person);

    await page.reload();
    await waitForHydration(page);
    await expect(page).toHaveURL(/\/activate$/);
    await expect(page.getByRole('heading', { name: 'Activate your account' })).toBeVisible();
    const email = page.getByLabel('Email', { exact: true });
    const password = page.getByLabel('Password', { exact: true });
    await expect(email).toBeVisible();
    await expect(password).toBeVisible();
    // It no longer knows when the code was sent, so it shows no countdown.
    await expect(page.getByText(/The code expires in/)).toBeHidden();

    const code = await readCode(request, origin(baseURL), person.email);
    await email.fill(person.email);
    await password.fill(person.password);
    await codeInput(page).fill(code);
    await activateButton(page).click();
    await expectActivated(page);
  });

  test('the name fields stay level when only one of them shows an error', async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/register');
    await waitForHydration(page);
    const firstName = page.getByLabel('First name', { exact: true });
    const surname = page.getByLabel('Surname', { exact: true });
    await firstName.fill('Ada');
    await page.getByRole('main').getByRole('button', { name: 'Create account' }).click();
    await expect(surname).toHaveAttribute('aria-invalid', 'true');
    await expect(firstName).not.toHaveAttribute('aria-invalid', 'true');
    const [left, right] = [await firstName.boundingBox(), await surname.boundingBox()];
    expect(left && right, 'both inputs are laid out').toBeTruthy();
    // Side by side at this width, at the same height, and the same size.
    expect(Math.abs((left?.y ?? 0) - (right?.y ?? 1))).toBeLessThan(1);
    expect(Math.abs((left?.height ?? 0) - (right?.height ?? 1))).toBeLessThan(1);
    expect(left?.x ?? 0).toBeLessThan(right?.x ?? 0);
  });

  test('can be filled in and sent from the keyboard alone', async ({ page }) => {
    const person = newPerson();
    await page.goto('/register');
    await waitForHydration(page);

    const firstName = page.getByLabel('First name', { exact: true });
    for (let i = 0; i < 15; i++) {
      if (await firstName.evaluate((el) => el === document.activeElement)) break;
      await page.keyboard.press('Tab');
    }
    await expect(firstName).toBeFocused();
    await page.keyboard.type(person.firstName);

    const rest: Array<[string, string]> = [
      ['Surname', person.lastName],
      ['Email', person.email],
      ['Phone number', person.phoneNumber],
      ['Password', person.password],
    ];
    for (const [label, value] of rest) {
      await page.keyboard.press('Tab');
      const field = page.getByLabel(label, { exact: true });
      await expect(field).toBeFocused();
      await page.keyboard.type(value);
      await expect(field).toHaveValue(value);
    }
    await page.keyboard.press('Enter');

    await expect(page).toHaveURL(/\/activate$/);
    await expect(page.getByRole('heading', { name: 'Activate your account' })).toBeVisible();
  });
});
