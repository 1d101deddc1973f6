import { expect, test } from '@playwright/test';

test.describe('API docs at /docs', () => {
  test('load nothing from another host, and run POST /api/register from the page', async ({ page, baseURL }) => {
    const origin = new URL(baseURL ?? 'http://127.0.0.1').origin;
    const foreign: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(origin) && !url.startsWith('data:')) foreign.push(url);
    });
    await page.goto('/docs/');

    const operation = page.locator('#operations-Registration-register');
    await expect(operation).toBeVisible();
    await expect(operation).toContainText('/api/register');
    await operation.locator('.opblock-summary').click();
    const tryItOut = operation.getByRole('button', { name: 'Try it out' });
    if (await tryItOut.isVisible()) await tryItOut.click();

    const unique = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
    const body = {
      first_name: 'Grace',
      last_name: 'Hopper',
      email: `grace.${unique}@example.com`,
      phone_number: `+44 20 7${unique.slice(-7)}`,
      password: 'a long and unusual passphrase',
    };
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
    const answer = page.waitForResponse(
      (response) => response.url().endsWith('/api/register') && response.request().method() === 'POST',
    );
    await operation.getByRole('button', { name: 'Execute' }).click();
    const response = await answer;
    expect(response.status(), await response.text()).toBe(201);
    const live = operation.locator('.live-responses-table tbody .response-col_status').first();
    await expect(live).toHaveText('201');
    await expect(operation.locator('.live-responses-table')).toContainText(body.email);
    expect(foreign).toEqual([]);
  });
});
