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
    // The hydration script is there (content-hashed names: accounts.<hash>.js); the element
    // that names the page's group lists its WASM files for the script to preload; no tag starts
    // a download before the page is painted; nothing has marked the page hydrated yet.
    expect(html).toMatch(/\/pkg\/accounts\.[\w-]+\.js/);
    const pageCode = html.match(/<div hidden[^>]* data-page-code="home_pages"[^>]*>/)?.[0];
    expect(pageCode, 'the element that names the page\'s group').toBeTruthy();
    expect(pageCode).toMatch(/ data-preload="[^"]*\/pkg\/split_home_pages_[^" ]+\.wasm/);
    expect(html).not.toMatch(/<link[^>]* rel="(module)?preload"/);
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

  test('downloads no WASM before the page is painted, and each file once', async ({ page }) => {
    for (const [path, group] of [['/', 'home_pages'], ['/register', 'entry_pages']]) {
      await page.goto(path);
      await waitForHydration(page);
      const seen = await page.evaluate(() => {
        const paint = performance.getEntriesByName('first-paint')[0] as
          | (PerformanceEntry & { paintTime?: number })
          | undefined;
        return {
          // When the page was painted (the rendering step), not when the frame reached the screen.
          painted: paint ? (paint.paintTime ?? paint.startTime) : null,
          wasm: performance
            .getEntriesByType('resource')
            .filter((e) => e.name.endsWith('.wasm'))
            .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime })),
        };
      });
      expect(seen.painted, `${path} was painted`).not.toBeNull();
      const painted = seen.painted ?? 0;
      const paths = seen.wasm.map((w) => w.path);
      expect(paths, `${path} loaded its group's module`).toContainEqual(
        expect.stringMatching(new RegExp(`^/pkg/split_${group}_`)),
      );
      expect(paths, `${path} loaded the main module`).toContainEqual(
        expect.stringMatching(/^\/pkg\/accounts\.[\w-]+\.wasm$/),
      );
      // One request per file: the loader used the preloads instead of fetching again.
      expect(new Set(paths).size, `${path}: ${paths.join(', ')}`).toBe(paths.length);
      for (const wasm of seen.wasm) {
        expect(wasm.start, `${path}: ${wasm.path} requested before the first paint`).toBeGreaterThanOrEqual(painted);
      }
    }
  });

  test('links to registration and sign-in', async ({ page }) => {
    await page.goto('/');
    const main = page.getByRole('main');
    await expect(main.getByRole('link', { name: 'Create an account' })).toHaveAttribute('href', '/register');
    await expect(main.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login');
  });

  // The keyboard journeys, this page's included, are in keyboard.spec.ts.
});
