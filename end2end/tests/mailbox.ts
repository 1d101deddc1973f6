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
const HEADING = /<h2>([\s\S]*?)<\/h2>/;

/** Subjects of the mails that carry a code, with the code as the first group. */
export const SUBJECTS = {
  /** After registering, or "Send a new code" on /activate. */
  activation: /^(\d+) is your activation code$/,
  /** Sent to the new address when changing the email on /account. */
  emailChange: /^(\d+) is your code to confirm this email address$/,
  /** From /forgot-password. */
  passwordReset: /^(\d+) is your password reset code$/,
  /** Any mail whose subject starts with a code. */
  any: /^(\d+)\b/,
} as const satisfies Record<string, RegExp>;

/** The subject of each mail to `email` in a /dev/mailbox page, newest first. */
export function subjectsIn(html: string, email: string): string[] {
  const wanted = email.trim().toLowerCase();
  const subjects: string[] = [];
  for (const [, recipient = '', body = ''] of html.matchAll(ARTICLE)) {
    if (unescapeHtml(recipient).trim().toLowerCase() !== wanted) continue;
    const heading = HEADING.exec(body);
    if (heading?.[1] !== undefined) subjects.push(unescapeHtml(heading[1]).trim());
  }
  return subjects;
}

/**
 * The codes mailed to `email` in a /dev/mailbox page, newest first: those in subjects that
 * match `subject` (its first group is the code). Activation codes unless told otherwise.
 */
export function codesIn(html: string, email: string, subject: RegExp = SUBJECTS.activation): string[] {
  const codes: string[] = [];
  for (const text of subjectsIn(html, email)) {
    const code = subject.exec(text)?.[1];
    if (code !== undefined) codes.push(code);
  }
  return codes;
}

async function mailboxPage(request: APIRequestContext, baseURL: string): Promise<string> {
  const response = await request.get(new URL('/dev/mailbox', baseURL).toString());
  if (!response.ok()) {
    throw new Error(`GET /dev/mailbox answered ${response.status()}`);
  }
  return response.text();
}

/** The subjects of the mail /dev/mailbox lists for `email` right now, newest first. */
export async function readSubjects(
  request: APIRequestContext,
  baseURL: string,
  email: string,
): Promise<string[]> {
  return subjectsIn(await mailboxPage(request, baseURL), email);
}

/**
 * The codes /dev/mailbox lists for `email` right now, newest first (activation codes unless
 * `subject` says otherwise).
 */
export async function readCodes(
  request: APIRequestContext,
  baseURL: string,
  email: string,
  subject: RegExp = SUBJECTS.activation,
): Promise<string[]> {
  return codesIn(await mailboxPage(request, baseURL), email, subject);
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
  /**
   * Which mails count: a pattern for the subject, the code as its first group. Defaults to
   * activation codes (`SUBJECTS.activation`); see `SUBJECTS` for the others. `afterMails`
   * counts only the mails this pattern matches.
   */
  subject?: RegExp;
}

/**
 * Polls /dev/mailbox every 100 ms until it lists a code for `email` (an activation code unless
 * `opts.subject` says otherwise, and one that `opts` does not skip) and returns the newest.
 * Mail shows up there once the outbox worker has "sent" it, which is a moment after the
 * request that queued it.
 */
export async function readCode(
  request: APIRequestContext,
  baseURL: string,
  email: string,
  opts: ReadCodeOptions = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const subject = opts.subject ?? SUBJECTS.activation;
  const deadline = Date.now() + timeoutMs;
  let seen = 'no mail for this address yet';
  for (;;) {
    try {
      const codes = await readCodes(request, baseURL, email, subject);
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
      const what = subject === SUBJECTS.activation ? 'activation code' : `code (subject ${subject})`;
      throw new Error(`No new ${what} for ${email} in /dev/mailbox within ${timeoutMs} ms (${seen}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The newest code mailed to `email` in any subject that starts with one (activation, email
 * change, password reset…): `readCode` with `subject: SUBJECTS.any`.
 */
export async function readAnyCode(
  request: APIRequestContext,
  baseURL: string,
  email: string,
  opts: Omit<ReadCodeOptions, 'subject'> = {},
): Promise<string> {
  return readCode(request, baseURL, email, { ...opts, subject: SUBJECTS.any });
}

/** `Basic base64(email:password)`, with the UTF-8 bytes of both, as /api/activate takes it. */
export function basicAuthorization(email: string, password: string): string {
  return `Basic ${Buffer.from(`${email}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * An activated account, without the UI: `POST /api/register`, the code from /dev/mailbox,
 * `POST /api/activate` with Basic auth. Returns the person (a new one unless given), who can
 * sign in at once.
 */
export async function activatedPerson(
  request: APIRequestContext,
  baseURL: string | undefined,
  person: Person = newPerson(),
): Promise<Person> {
  const server = origin(baseURL);
  const registered = await request.post(new URL('/api/register', server).toString(), {
    data: registerBody(person),
  });
  if (registered.status() !== 201) {
    throw new Error(`POST /api/register answered ${registered.status()}: ${await registered.text()}`);
  }
  const code = await readCode(request, server, person.email);
  const activated = await request.post(new URL('/api/activate', server).toString(), {
    headers: { Authorization: basicAuthorization(person.email, person.password) },
    data: { code },
  });
  if (!activated.ok()) {
    throw new Error(`POST /api/activate answered ${activated.status()}: ${await activated.text()}`);
  }
  return person;
}
