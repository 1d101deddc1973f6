import { expect, test } from '@playwright/test';
import { waitForHydration } from './helpers';

test.describe('home page', () => {
  test('is rendered on the server, before any script runs', async ({ request }) => {
    const response = await request.get('/');
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('Your account, done properly.');
    expect(html).toContain('href="/register"');
    expect(html).toContain('href="/login"');
    // The hydration scripts are there (content-hashed names: accounts.<hash>.js), the WASM
    // module of the page's group is preloaded and named for the browser to load before it
    // hydrates, and nothing has marked the page hydrated yet.
    expect(html).toMatch(/\/pkg\/accounts\.[\w-]+\.js/);
    const pageModule = html.match(/<link[^>]*href="\/pkg\/split_home_pages_[^"]+\.wasm"[^>]*>/)?.[0];
    expect(pageModule, 'the home page\'s WASM module is linked').toBeTruthy();
    expect(pageModule).toContain('rel="preload"');
    expect(html).toMatch(/<div hidden[^>]* data-page-code="home_pages"/);
    expect(html).not.toContain('data-hydrated');
  });

  test('hydrates without a script error, and keeps the operators\' status check off the page', async ({ page }) => {
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1, name: 'Your account, done properly.' })).toBeVisible();
    await waitForHydration(page);
    // The status check is an operator's tool: it lives on /admin/mail now.
    await expect(page.getByRole('button', { name: 'Check service status' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'documented here' })).toHaveAttribute('href', '/docs/');
    // No script error, and nothing the Content-Security-Policy had to block.
    expect(problems).toEqual([]);
  });

  test('links to registration and sign-in', async ({ page }) => {
    await page.goto('/');
    const main = page.getByRole('main');
    await expect(main.getByRole('link', { name: 'Create an account' })).toHaveAttribute('href', '/register');
    await expect(main.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login');
  });

  // The keyboard journeys, this page's included, are in keyboard.spec.ts.
});
