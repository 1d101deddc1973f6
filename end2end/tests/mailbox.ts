import { randomBytes, randomInt } from 'node:crypto';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { waitForHydration } from './helpers';

/** Someone to register: every call gives a new email address, phone number and password. */
export interface Person {
  firstName: string;
  lastName: string;
  email: string;
  phoneNumber: string;
  password: string;
}

export function newPerson(): Person {
  const tag = randomBytes(4).toString('hex');
  // London numbers (+44 20 7xxx xxxx) are valid; seven random digits keep them apart.
  const digits = String(randomInt(0, 10_000_000)).padStart(7, '0');
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: `e2e-${Date.now()}-${tag}@example.com`,
    phoneNumber: `+44 20 7${digits.slice(0, 3)} ${digits.slice(3)}`,
    password: `e2e analytical engine ${tag}`,
  };
}

/** The body `POST /api/register` takes for `person`. */
export function registerBody(person: Person): Record<string, string> {
  return {
    first_name: person.firstName,
    last_name: person.lastName,
    email: person.email,
    phone_number: person.phoneNumber,
    password: person.password,
  };
}

/** The test's `baseURL` fixture, which the config always sets. */
export function origin(baseURL: string | undefined): string {
  if (!baseURL) {
    throw new Error('baseURL is not set: the Playwright config sets it for every test.');
  }
  return baseURL;
}

/**
 * Fills and submits /register in the browser (after hydration) and waits for /activate.
 * The credentials then live in the page's memory only.
 */
export async function registerInBrowser(page: Page, person: Person): Promise<void> {
  await page.goto('/register');
  await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('First name', { exact: true }).fill(person.firstName);
  await page.getByLabel('Surname', { exact: true }).fill(person.lastName);
  await page.getByLabel('Email', { exact: true }).fill(person.email);
  await page.getByLabel('Phone number', { exact: true }).fill(person.phoneNumber);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/activate$/);
  await expect(page.getByRole('heading', { name: 'Activate your account' })).toBeVisible();
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const ARTICLE = /<article\b[^>]*\bdata-recipient="([^"]*)"[^>]*>([\s\S]*?)<\/article>/g;
const SUBJECT = /<h2>\s*(\d+) is your activation code\s*<\/h2>/;

/** The activation codes mailed to `email` in a /dev/mailbox page, newest first. */
export function codesIn(html: string, email: string): string[] {
  const wanted = email.trim().toLowerCase();
  const codes: string[] = [];
  for (const [, recipient = '', body = ''] of html.matchAll(ARTICLE)) {
    if (unescapeHtml(recipient).trim().toLowerCase() !== wanted) continue;
    const subject = SUBJECT.exec(body);
    if (subject?.[1]) codes.push(subject[1]);
  }
  return codes;
}

/** The activation codes /dev/mailbox lists for `email` right now, newest first. */
export async function readCodes(
  request: APIRequestContext,
  baseURL: string,
  email: string,
): Promise<string[]> {
  const response = await request.get(new URL('/dev/mailbox', baseURL).toString());
  if (!response.ok()) {
    throw new Error(`GET /dev/mailbox answered ${response.status()}`);
  }
  return codesIn(await response.text(), email);
}

export interface ReadCodeOptions {
  /** A code already seen: wait until the newest mail carries a different one. */
  after?: string;
  /**
   * How many codes `email` had already received: wait for a newer mail. Unlike `after`, this
   * cannot be fooled by a new code that happens to equal the old one.
   */
  afterMails?: number;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

/**
 * Polls /dev/mailbox every 100 ms until it lists an activation code for `email` (one that
 * `opts` does not skip) and returns the newest. Mail shows up there once the outbox worker
 * has "sent" it, which is a moment after the request that queued it.
 */
export async function readCode(
  request: APIRequestContext,
  baseURL: string,
  email: string,
  opts: ReadCodeOptions = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let seen = 'no mail for this address yet';
  for (;;) {
    try {
      const codes = await readCodes(request, baseURL, email);
      const newest = codes[0];
      if (newest !== undefined) {
        seen = `${codes.length} mail(s), the newest with code ${newest}`;
        const newEnough = opts.afterMails === undefined || codes.length > opts.afterMails;
        const different = opts.after === undefined || newest !== opts.after;
        if (newEnough && different) return newest;
      }
    } catch (e) {
      seen = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) {
      throw new Error(`No new activation code for ${email} in /dev/mailbox within ${timeoutMs} ms (${seen}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
