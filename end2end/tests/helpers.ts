import AxeBuilder from '@axe-core/playwright';
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

/**
 * Waits until the WASM bundle has hydrated the server-rendered page. A page that does not
 * hydrate fails with what it said since it was loaded (a WASM file that did not load, a panic),
 * which is all there is to go on when that happens once in a while.
 */
export async function waitForHydration(page: Page): Promise<void> {
  const started = Date.now();
  const hydrated = page.locator('html[data-hydrated="true"]');
  try {
    await expect(hydrated, `${page.url()} hydrates (html[data-hydrated="true"])`).toHaveCount(1, {
      timeout: HYDRATION_TIMEOUT_MS,
    });
  } catch (error) {
    const since = { filter: 'since-navigation' } as const;
    const said = [
      ...(await page.pageErrors(since)).map((e) => `page error: ${e.message}`),
      ...(await page.consoleMessages(since))
        .filter((m) => m.type() === 'error' || m.type() === 'warning')
        .map((m) => `console ${m.type()}: ${m.text()}`),
    ];
    throw new Error(
      `${page.url()} did not hydrate within ${HYDRATION_TIMEOUT_MS} ms; the page said:\n` +
        (said.join('\n') || '(nothing)'),
      { cause: error },
    );
  }
  const waited = Date.now() - started;
  if (waited > SLOW_HYDRATION_MS) {
    const note = `${page.url()} took ${waited} ms to hydrate`;
    test.info().annotations.push({ type: 'slow hydration', description: note });
    console.warn(`slow hydration: ${note}`);
  }
}

/** The WCAG 2.2 AA rules (and the A and 2.0/2.1 rules they include) axe checks. */
const WCAG_AA_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe-core on the page as it is now and fails on any WCAG 2.2 AA violation, listing each
 * rule, its impact and the first elements at fault. `state` names what the page shows, for the
 * failure message ("/register with field errors").
 */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(WCAG_AA_TAGS).analyze();
  const violations = result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes
        .slice(0, 3)
        .map((n) => n.target.join(' '))
        .join(' | ')}`,
  );
  expect(violations, `axe on ${state} (${page.url()})`).toEqual([]);
  // A scan that checked nothing would pass too: make sure it looked at the page.
  expect(result.passes.length, `axe checked rules on ${state}`).toBeGreaterThan(10);
}

/**
 * The parameter names of the page's query, in order. A filter form's URL names exactly its named
 * fields: an unnamed control (the submit button) must not add a nameless `=` (`…&=`).
 */
export function queryNames(page: Page): string[] {
  return [...new URL(page.url()).searchParams.keys()];
}
