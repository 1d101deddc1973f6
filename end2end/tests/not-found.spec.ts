import { expect, test } from '@playwright/test';
import { waitForHydration } from './helpers';

test.describe('unknown paths', () => {
  test('answer 404 with a page that leads home', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await expect(page).toHaveTitle(/Page not found/);
    await waitForHydration(page);

    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await expect(page).toHaveURL('/');
    await expect(page.getByRole('heading', { level: 1, name: 'Your account, done properly.' })).toBeVisible();
  });

  test('under /api answer typed JSON', async ({ request }) => {
    const response = await request.post('/api/no-such-endpoint', { data: {} });
    expect(response.status()).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });
});
