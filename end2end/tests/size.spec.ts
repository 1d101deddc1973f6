import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, request as http, test, type APIRequestContext, type Browser } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, waitForHydration } from './helpers';
import { activatedPerson, origin, type Person } from './mailbox';
import { onPath } from './session';

/**
 * What a first visit downloads: every file under /pkg (the WASM module and the chunks the page
 * needs, the JS that loads them, the stylesheet) that a browser with an empty cache fetches until
 * the page is hydrated and the network is idle, counted as the brotli-compressed bytes the server
 * sends for them. One budget for the pages a new person meets first (/ , /register, /activate,
 * /login and /products), another for every other page with all it loads.
 *
 * The goal is 150 KiB and 250 KiB. The split build does not reach it yet: the main module alone
 * is about 177 KiB (the Leptos runtime, the router, the header, the server functions' client
 * side), and a group of pages adds 8 KiB (home) to 204 KiB (administration). The budgets enforced
 * here are the sizes measured with five groups of pages, with a little room. They stop a page from
 * growing unnoticed; lowering them to the goal is open work.
 *
 * Languages (English, French, German) raised them from 330 and 400 KiB: every page now fetches its
 * language's texts (5.4 KiB in English) and each `t!` costs a call where a literal cost nothing,
 * 10.5 to 15 KiB a page in all (/products 326.0 → 340.4, /admin 399.7 → 412.6). Winning that back
 * (texts per group of pages, cheaper text nodes) is open work, with the goal above.
 */
const FIRST_PAGES_BUDGET_KIB = 345;
const ANY_PAGE_BUDGET_KIB = 415;
const GOAL_KIB = { firstPages: 150, anyPage: 250 };
const FIRST_PAGES = new Set(['/', '/register', '/activate', '/login', '/products']);

/** Where the tables go as JSON, one file per group of pages, for notes and for comparing builds. */
const REPORT_DIR = join(process.cwd(), '..', 'target');

/** The visits below are made at this width (CSS pixels), a common phone's. */
const PHONE_WIDTH = 412;

interface Visit {
  page: string;
  who: 'anonymous' | 'signed in' | 'administrator';
  bytes: number;
  files: { name: string; bytes: number }[];
  budget: number;
}

/** An API client signed in as `person`: its cookies become a browser's. */
async function signedInState(baseURL: string, person: Person) {
  const api = await http.newContext({ baseURL });
  const signedIn = await api.post('/api/login', { data: { email: person.email, password: person.password } });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  const state = await api.storageState();
  await api.dispose();
  return state;
}

/** A layout shift the browser reported while the page loaded and hydrated. */
interface Shift {
  value: number;
  moved: string[];
}

/**
 * Loads `path` in a new browser context (an empty cache) the size of a phone, and lists the files
 * it took from /pkg and the layout shifts it saw until hydrated and idle, with how wide the page
 * is then and the text of its main part. The page itself must be revalidated on every visit.
 */
async function firstVisit(
  browser: Browser,
  baseURL: string,
  path: string,
  storageState?: Awaited<ReturnType<typeof signedInState>>,
): Promise<{ names: string[]; shifts: Shift[]; width: number; text: string }> {
  const context = await browser.newContext({ baseURL, storageState, viewport: { width: PHONE_WIDTH, height: 823 } });
  await context.addInitScript(() => {
    const shifts: Shift[] = [];
    Object.assign(window, { layoutShifts: shifts });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as (PerformanceEntry & {
        value: number;
        sources?: { node?: Node | null; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[];
      })[]) {
        const rect = ({ x, y, width, height }: DOMRectReadOnly) => `${x},${y} ${width}x${height}`;
        const moved = (entry.sources ?? []).map(({ node, previousRect, currentRect }) =>
          `${node instanceof Element ? `${node.localName}.${node.className} "${node.textContent?.slice(0, 30)}"` : node?.nodeName}` +
          ` from ${rect(previousRect)} to ${rect(currentRect)}`);
        shifts.push({ value: entry.value, moved });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  const page = await context.newPage();
  const names = new Set<string>();
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    // The page's texts (`/texts/<language>.<hash>.json`) count too: the page waits for them.
    if (pathname.startsWith('/pkg/') || pathname.startsWith('/texts/')) names.add(pathname);
  });
  const response = await page.goto(path);
  expect(response?.headers()['cache-control'], `${path}: the page is revalidated`).toBe('no-cache');
  await expect(page).toHaveURL(onPath(path));
  await waitForHydration(page);
  await page.waitForLoadState('networkidle');
  const shifts = await page.evaluate(() => (window as unknown as { layoutShifts: Shift[] }).layoutShifts);
  // The journeys check every page with axe at a desktop's width; here it is a phone's (tables
  // that scroll sideways in their own box, the header's links on two lines).
  await expectAccessible(page, `${path} on a phone`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  const text = await page.getByRole('main').innerText();
  await context.close();
  return { names: [...names].sort(), shifts, width, text };
}

/**
 * What a file under `/pkg` or `/texts` costs a browser that accepts brotli (every browser over HTTPS; Chromium
 * asks plain-HTTP servers for gzip only, so the browser above cannot show it): the length of the
 * brotli body. The file must also be cacheable for a year, its name carrying its hash.
 */
async function brotliBytes(api: APIRequestContext, path: string): Promise<number> {
  const response = await api.get(path, { headers: { 'Accept-Encoding': 'br' } });
  expect(response.status(), path).toBe(200);
  const headers = response.headers();
  expect(headers['content-encoding'], `${path} is sent brotli-compressed`).toBe('br');
  expect(headers['cache-control'], `${path} is kept for a year`).toBe('public, max-age=31536000, immutable');
  const length = Number(headers['content-length']);
  expect(length, `${path} says its length`).toBeGreaterThan(0);
  return length;
}

/** Someone signed in, an administrator, and something for the pages that show one thing. */
async function setUp(server: string) {
  const person = await activatedPerson(await http.newContext(), server);
  const admin = newAdmin();
  createAdmin(admin);
  const personState = await signedInState(server, person);
  const adminState = await signedInState(server, admin);
  const adminApi = await http.newContext({ baseURL: server, storageState: adminState });
  const created = await adminApi.post('/api/create-product', {
    data: { name: `Size check ${Date.now()}`, price: '1.00', stock: 1 },
  });
  expect(created.status(), await created.text()).toBe(201);
  const product = (await created.json()) as { id: string };
  const users = await adminApi.get(`/api/admin/users?q=${encodeURIComponent(person.email)}`);
  expect(users.status(), await users.text()).toBe(200);
  const userId = ((await users.json()) as { items: { user_id: string }[] }).items[0]?.user_id;
  expect(userId, 'the administrator finds the person').toBeTruthy();
  await adminApi.dispose();
  return { productId: product.id, userId, personState, adminState };
}

/**
 * Visits each page of `plan` as a first visit, checks what it saw, prints the table and writes
 * it to `target/size-report-<group>.json`, then holds each page to its budget.
 */
async function measure(browser: Browser, server: string, group: string, plan: [string, Visit['who']][]) {
  const { personState, adminState } = await fixtures;
  const visits: Visit[] = [];
  const api = await http.newContext({ baseURL: server });
  const sizes = new Map<string, number>();
  for (const [page, who] of plan) {
    const state = who === 'anonymous' ? undefined : who === 'signed in' ? personState : adminState;
    const files = [];
    const { names, shifts, width, text } = await firstVisit(browser, server, page, state);
    // Nothing moves while the page loads and hydrates: no layout shift at all (CLS 0).
    expect.soft(shifts, `${page}: no layout shift while it loads and hydrates`).toEqual([]);
    // Nothing is wider than the phone (a wide table scrolls inside its own box), and times read
    // as a person reads them, not as stored (`2026-11-30T06:43:57.017Z`).
    expect.soft(width, `${page}: the page fits the phone's width`).toBeLessThanOrEqual(PHONE_WIDTH);
    expect.soft(text, `${page}: no raw timestamp`).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    for (const name of names) {
      if (!sizes.has(name)) sizes.set(name, await brotliBytes(api, name));
      files.push({ name, bytes: sizes.get(name) ?? 0 });
    }
    const bytes = files.reduce((sum, file) => sum + file.bytes, 0);
    const budget = (FIRST_PAGES.has(page) ? FIRST_PAGES_BUDGET_KIB : ANY_PAGE_BUDGET_KIB) * 1024;
    visits.push({ page, who, bytes, files, budget });
  }
  await api.dispose();

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  console.log(
    [`first load, ${group} (brotli, from /pkg; goal ${GOAL_KIB.firstPages} KiB for the first pages, ${GOAL_KIB.anyPage} KiB for any)`,
      'page                              files     size   budget', ...visits.map((v) =>
      `${`${v.page} (${v.who})`.padEnd(34).slice(0, 34)}${String(v.files.length).padStart(6)}` +
      `${kib(v.bytes).padStart(11)}${kib(v.budget).padStart(11)}${v.bytes > v.budget ? '  OVER' : ''}`,
    )].join('\n'),
  );
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(join(REPORT_DIR, `size-report-${group.replace(/\W+/g, '-')}.json`), `${JSON.stringify(visits, null, 2)}\n`);

  for (const visit of visits) {
    expect.soft(visit.bytes, `${visit.page}: ${kib(visit.bytes)} over its ${kib(visit.budget)} budget`)
      .toBeLessThanOrEqual(visit.budget);
  }
}

// The people and the product every group below visits with, made once per worker.
let fixtures: ReturnType<typeof setUp>;
test.beforeAll(({ baseURL }) => {
  fixtures = setUp(origin(baseURL));
  fixtures.catch(() => {}); // awaited in each test; this only keeps an early failure from going unhandled
});

// Two groups of pages, two tests, so that the two workers share the visits (each page is loaded
// afresh and checked with axe: a few seconds each on a 2-core machine).
test('a first visit to each page a visitor can open, on a phone: within its download budget, no shift, no sideways scrolling, no raw timestamp', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(240_000);
  const { productId } = await fixtures;
  await measure(browser, origin(baseURL), 'anonymous', [
    ['/', 'anonymous'],
    ['/register', 'anonymous'],
    ['/activate', 'anonymous'],
    ['/login', 'anonymous'],
    ['/products', 'anonymous'],
    ['/forgot-password', 'anonymous'],
    [`/products/${productId}`, 'anonymous'],
    ['/cart', 'anonymous'],
    ['/no-such-page', 'anonymous'],
  ]);
});

test('a first visit to each signed-in and administrators\' page, on a phone: within its download budget, no shift, no sideways scrolling, no raw timestamp', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(240_000);
  const { productId, userId } = await fixtures;
  await measure(browser, origin(baseURL), 'signed in', [
    ['/account', 'signed in'],
    ['/orders', 'signed in'],
    ['/admin', 'administrator'],
    [`/admin/users/${userId}`, 'administrator'],
    ['/admin/products', 'administrator'],
    [`/admin/products/${productId}`, 'administrator'],
    ['/admin/audit', 'administrator'],
    ['/admin/mail', 'administrator'],
  ]);
});

test('the pages a new person meets arrive whole, nothing streamed out of order', async ({ request }) => {
  // Out of order, the server sends a placeholder (the header's links, "Loading…") and the content
  // later in a `<template id="…f">` that a script swaps in: on a slow connection the first paint
  // shows the placeholder, and the swap moves the page (a layout shift the local browser above is
  // too fast to see).
  // The 404 page too: the server's fallback renders it whole (`file_and_error_handler`).
  const pages: [string, number][] = [
    ...['/', '/register', '/activate', '/login', '/forgot-password', '/products', '/cart'].map(
      (path): [string, number] => [path, 200],
    ),
    ['/no-such-page', 404],
  ];
  for (const [path, status] of pages) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(status);
    expect(await response.text(), `${path} has no out-of-order chunk`).not.toMatch(/<template id="[^"]*f">/);
  }
});
