import { expect, test, type Page } from '@playwright/test';

/**
 * How long a freshly loaded page may take to become interactive: fetching, compiling and
 * running the WASM bundle. A person waits for a page to load, so this is the one place where
 * the tests wait longer than `expect`'s 10 s; whatever follows a click must still happen within
 * those. The optimised development bundle (Cargo.toml, profile `wasm-dev`) should need a small
 * part of it; the unoptimised 11 MB one took over 10 s on a busy 2-core machine. It stays well
 * under the 30 s test timeout, so a page that never hydrates fails here, saying so.
 */
export const HYDRATION_TIMEOUT_MS = 15_000;

/** A hydration this slow is worth a note in the output even when the test passes. */
const SLOW_HYDRATION_MS = 5_000;

/** Waits until the WASM bundle has hydrated the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  const started = Date.now();
  const hydrated = page.locator('html[data-hydrated="true"]');
  await expect(hydrated, `${page.url()} hydrates (html[data-hydrated="true"])`).toHaveCount(1, {
    timeout: HYDRATION_TIMEOUT_MS,
  });
  const waited = Date.now() - started;
  if (waited > SLOW_HYDRATION_MS) {
    const note = `${page.url()} took ${waited} ms to hydrate`;
    test.info().annotations.push({ type: 'slow hydration', description: note });
    console.warn(`slow hydration: ${note}`);
  }
}
