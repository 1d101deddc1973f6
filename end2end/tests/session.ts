import { expect, type Locator, type Page } from '@playwright/test';
import { waitForHydration } from './helpers';

/** What /login says for an unknown email, a wrong password or a deleted account alike. */
export const WRONG_CREDENTIALS = 'The email address or password is wrong.';

/**
 * Matches a URL by its path alone. (`/\/account$/` would also match `/login?next=/account`.)
 */
export function onPath(path: string): (url: URL) => boolean {
  return (url) => url.pathname === path;
}

/** Opens /login (or `path`, e.g. `/login?next=/account`) and waits for hydration. */
export async function openLogin(page: Page, path = '/login'): Promise<void> {
  await page.goto(path);
  await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
  await waitForHydration(page);
}

/** Fills and submits the hydrated /login form. */
export async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  const main = page.getByRole('main');
  await main.getByLabel('Email', { exact: true }).fill(email);
  await main.getByLabel('Password', { exact: true }).fill(password);
  // The header has a "Sign in" link too: this is the form's button.
  await main.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * Signs in on the hydrated /login page, then waits for the full page load that follows:
 * `landing` (by default /account, where /login sends you without `next`), hydrated.
 */
export async function signIn(page: Page, email: string, password: string, landing = '/account'): Promise<void> {
  await submitLogin(page, email, password);
  await expect(page).toHaveURL(onPath(landing));
  await waitForHydration(page);
}

/** The header (role banner): the person's name and "Sign out" when signed in. */
export function banner(page: Page): Locator {
  return page.getByRole('banner');
}

/** The header names `name` (a link to /account) and offers to sign out. */
export async function expectSignedInAs(page: Page, name: string): Promise<void> {
  await expect(banner(page).getByRole('link', { name, exact: true })).toHaveAttribute('href', '/account');
  await expect(banner(page).getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
}

/** The header offers to sign in, and not to sign out. */
export async function expectSignedOut(page: Page): Promise<void> {
  await expect(banner(page).getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute('href', '/login');
  await expect(banner(page).getByRole('button', { name: 'Sign out', exact: true })).toHaveCount(0);
}

/** "Sign out" in the header (from a page other than /); the app then loads / signed out. */
export async function signOut(page: Page): Promise<void> {
  await banner(page).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(onPath('/'));
  await waitForHydration(page);
  await expectSignedOut(page);
}
