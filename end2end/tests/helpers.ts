import { expect, type Page } from '@playwright/test';

/** Waits until the WASM bundle has hydrated the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('html[data-hydrated="true"]')).toHaveCount(1);
}
