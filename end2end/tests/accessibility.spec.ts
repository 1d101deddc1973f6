import { expect, test, type Page } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson } from './mailbox';
import { openLogin, signIn } from './session';

/** Opens `path`, waits for hydration, and checks it in both colour schemes. */
async function check(page: Page, path: string, state = path): Promise<void> {
  await page.goto(path);
  await waitForHydration(page);
  await checkBothSchemes(page, state);
}

async function checkBothSchemes(page: Page, state: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await expectAccessible(page, `${state} (light)`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expectAccessible(page, `${state} (dark)`);
  await page.emulateMedia({ colorScheme: 'light' });
}

test.describe('accessibility (axe-core, WCAG 2.2 AA, light and dark)', () => {
  test('the public pages, empty', async ({ page }) => {
    test.setTimeout(180_000);
    for (const path of ['/', '/register', '/login', '/activate', '/forgot-password', '/products', '/cart']) {
      await check(page, path);
    }
    await check(page, '/no-such-page', 'the 404 page');
  });

  test('nothing moves for a person who asked for reduced motion', async ({ page }) => {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    for (const path of ['/', '/register', '/products']) {
      await page.goto(path);
      await waitForHydration(page);
      const moving = await page.evaluate(() =>
        Array.from(document.querySelectorAll('*'))
          .filter((el) => {
            const style = getComputedStyle(el);
            const seconds = (list: string) => list.split(',').some((t) => parseFloat(t) > 0);
            return seconds(style.transitionDuration) || style.animationName !== 'none' || style.scrollBehavior === 'smooth';
          })
          .map((el) => el.tagName.toLowerCase() + (el.className ? `.${String(el.className)}` : '')),
      );
      expect(moving, `${path}: elements that would animate`).toEqual([]);
      expect(await page.evaluate(() => document.getAnimations().length), `${path}: running animations`).toBe(0);
    }
  });

  test('the forms with field errors', async ({ page }) => {
    test.setTimeout(180_000);

    await page.goto('/register');
    await waitForHydration(page);
    await page.getByRole('main').getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('main input[aria-invalid="true"]').first()).toBeVisible();
    await checkBothSchemes(page, '/register with field errors');

    await page.goto('/login');
    await waitForHydration(page);
    await page.getByRole('main').getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.locator('main input[aria-invalid="true"]').first()).toBeVisible();
    await checkBothSchemes(page, '/login with field errors');
  });

  test('the signed-in pages and the administrators\' tables', async ({ page, request, baseURL }) => {
    test.setTimeout(180_000);
    const person = await activatedPerson(request, baseURL);
    await openLogin(page);
    await signIn(page, person.email, person.password);
    await checkBothSchemes(page, '/account');
    await check(page, '/orders');

    const admin = newAdmin();
    createAdmin(admin);
    await page.context().clearCookies();
    await openLogin(page);
    await signIn(page, admin.email, admin.password);
    for (const path of ['/admin', '/admin/audit', '/admin/mail', '/admin/products']) {
      await check(page, path);
    }
  });
});
