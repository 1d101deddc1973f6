import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson, newPerson, origin, readCode, readSubjects } from './mailbox';
import { openLogin, signIn } from './session';

/** A language's texts of one namespace, read from the same files the app is built from. */
function texts(language: string, namespace: string): Record<string, string> {
  const path = join(process.cwd(), '..', 'app', 'locales', language, `${namespace}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A subject template (`{{ code }} est votre code d’activation`) as a pattern whose group is the code. */
function subjectPattern(template: string): RegExp {
  return new RegExp(`^${escapeRegExp(template).replace(/\\\{\\\{ code \\\}\\\}/, '(\\d+)')}$`);
}

/** Nothing on the page is wider than the screen (a long German label would push it). */
async function expectNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  expect(scroll, `${what} fits the screen`).toBeLessThanOrEqual(width);
}

test.describe('in a French browser', () => {
  test.use({ locale: 'fr-FR' });

  test('registers and activates in French, with the activation email in French', async ({ page, request, baseURL }) => {
    const signUp = texts('fr', 'sign_up');
    const forms = texts('fr', 'forms');
    const mail = texts('fr', 'mail');
    const person = newPerson();

    await page.goto('/register');
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expect(page.getByRole('heading', { name: signUp.register_heading, level: 1 })).toBeVisible();
    await waitForHydration(page);
    // The live checks speak French too.
    const email = page.getByLabel(forms.email, { exact: true });
    await email.fill('pas-une-adresse');
    await email.blur();
    await expect(page.getByText(texts('fr', 'fields').email_invalid)).toBeVisible();
    await expectAccessible(page, '/register in French');

    await page.getByLabel(signUp.first_name, { exact: true }).fill(person.firstName);
    await page.getByLabel(signUp.surname, { exact: true }).fill(person.lastName);
    await email.fill(person.email);
    await page.getByLabel(signUp.phone_number, { exact: true }).fill(person.phoneNumber);
    await page.getByLabel(forms.password, { exact: true }).fill(person.password);
    await page.getByRole('button', { name: signUp.create_account }).click();
    await expect(page).toHaveURL(/\/activate$/);
    await expect(page.getByRole('heading', { name: signUp.activate_heading })).toBeVisible();

    const subject = subjectPattern(mail.activation_subject);
    const code = await readCode(request, origin(baseURL), person.email, { subject });
    await page.getByLabel(signUp.activation_code, { exact: true }).fill(code);
    await page.getByRole('button', { name: signUp.activate, exact: true }).click();
    await expect(page.getByRole('heading', { name: signUp.active_heading })).toBeVisible();
    await expectAccessible(page, '/activate in French, activated');
    // Not a word of the English page left in the main content.
    await expect(page.getByRole('main')).not.toContainText(texts('en', 'sign_up').active_heading);
  });
});

test('switching to German on the account page changes the page and the next email', async ({ page, request, baseURL }) => {
  const person = await activatedPerson(request, origin(baseURL));
  await openLogin(page);
  await signIn(page, person.email, person.password);
  await waitForHydration(page);
  const english = texts('en', 'account');
  const german = texts('de', 'account');
  const mail = texts('de', 'mail');

  await page.getByRole('combobox', { name: english.language, exact: true }).selectOption('de');
  await page.getByRole('button', { name: english.save_profile }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.getByRole('heading', { name: german.your_account, level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByRole('combobox', { name: german.language, exact: true })).toHaveValue('de');
  await expectAccessible(page, '/account in German');
  await page.setViewportSize({ width: 360, height: 740 });
  await expectAccessible(page, '/account in German on a phone');
  await expectNoSidewaysScroll(page, '/account in German on a phone');

  // The next email is German: a password change sends a notice.
  await page.getByLabel(german.current_password, { exact: true }).fill(person.password);
  await page.getByLabel(german.new_password, { exact: true }).fill(`${person.password} neu`);
  await page.getByRole('button', { name: german.change_password }).click();
  await expect(page.getByText(german.password_changed)).toBeVisible();
  await expect
    .poll(async () => readSubjects(request, origin(baseURL), person.email), { timeout: 10_000 })
    .toContain(mail.password_changed_subject);

  // Other pages follow, the header's links included.
  await page.goto('/products');
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.getByRole('navigation', { name: texts('de', 'common').main_navigation })
    .getByRole('link', { name: texts('de', 'common').nav_orders })).toBeVisible();
  await waitForHydration(page);
  await expectAccessible(page, '/products in German on a phone');
  await expectNoSidewaysScroll(page, '/products in German on a phone');
});

test('the language switcher works before and after hydration and is remembered', async ({ page }) => {
  await page.goto('/login');
  const switcher = page.getByRole('navigation', { name: texts('en', 'common').language_label });
  await switcher.getByRole('link', { name: 'Français' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByRole('link', { name: 'Français' })).toHaveAttribute('aria-current', 'true');
  await waitForHydration(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { name: texts('fr', 'home').heading, level: 1 })).toBeVisible();
  await page.getByRole('navigation', { name: texts('fr', 'common').language_label })
    .getByRole('link', { name: 'English' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { name: texts('en', 'home').heading, level: 1 })).toBeVisible();
});
