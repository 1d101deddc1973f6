import { defineConfig, devices, type Config } from '@playwright/test';
import { SERVER_BINARY, SIX_DIGIT_CODE_LENGTH, SIX_DIGIT_CODE_TTL_SECS } from './tests/servers';

// `make e2e` (and `make test`) build the app, start a throwaway Postgres, and set these.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const databaseUrl = process.env.E2E_DATABASE_URL;
if (!databaseUrl) {
  throw new Error('E2E_DATABASE_URL is not set: run the end-to-end tests with `make e2e` or `make test`.');
}

/** The port and database of one more server, from `E2E_<prefix>_PORT` and `E2E_<prefix>_DATABASE_URL`. */
function extraServer(prefix: string): { port: number; databaseUrl: string } {
  const portVariable = `E2E_${prefix}_PORT`;
  const databaseVariable = `E2E_${prefix}_DATABASE_URL`;
  const serverPort = Number(process.env[portVariable]);
  const database = process.env[databaseVariable];
  if (!process.env[portVariable] || !Number.isInteger(serverPort) || !database) {
    throw new Error(
      `${portVariable} and ${databaseVariable} are not set: run the end-to-end tests with \`make e2e\` or \`make test\`.`,
    );
  }
  return { port: serverPort, databaseUrl: database };
}

// One more server, with its own port and database (two servers applying the migrations to one
// database at start-up would race): one with 6-digit codes, for tests/six-digit.spec.ts.
const sixDigit = extraServer('SIX_DIGIT');
const all = [{ port, databaseUrl }, sixDigit];
if (new Set(all.map((s) => s.port)).size !== all.length || new Set(all.map((s) => s.databaseUrl)).size !== all.length) {
  throw new Error(
    'Each server needs its own port and database: E2E_PORT and E2E_SIX_DIGIT_PORT must differ, ' +
      'and so must E2E_DATABASE_URL and E2E_SIX_DIGIT_DATABASE_URL.',
  );
}

type WebServer = Exclude<NonNullable<Config['webServer']>, readonly unknown[]>;

/** The built server binary, on its own database; polled until ready, stopped when the run ends. */
function server(name: string, serverPort: number, database: string, env: Record<string, string> = {}): WebServer {
  return {
    name,
    command: `./${SERVER_BINARY}`,
    cwd: '..',
    url: `http://127.0.0.1:${serverPort}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    env: {
      DATABASE_URL: database,
      LEPTOS_SITE_ADDR: `127.0.0.1:${serverPort}`,
      LEPTOS_SITE_ROOT: 'target/site',
      // Two servers run at once; neither needs the metrics listener (default 127.0.0.1:9100).
      METRICS_ADDR: 'off',
      APP_ENV: 'development',
      // Empty counts as unset: mail goes to /dev/mailbox, where the tests read the codes.
      SMTP_URL: '',
      RUST_LOG: process.env.E2E_RUST_LOG ?? 'warn',
      // Every browser of the suite comes from 127.0.0.1, and activation, resend and sign-in all
      // count against one per-IP budget of password checks: a real person never shares theirs
      // with a whole test suite. The per-IP limit has its own integration tests.
      RATE_LIMIT_LOGIN_PER_IP: '0',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  // A test that passes only on a second try is a failing test: no retries, on CI either.
  retries: 0,
  workers: 2,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  use: {
    baseURL,
    // Without retries, 'on-first-retry' would never record: keep the trace of every failure.
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
          ],
        },
      },
    },
  ],
  webServer: [
    server('app', port, databaseUrl),
    server('app, 6-digit codes', sixDigit.port, sixDigit.databaseUrl, {
      ACTIVATION_CODE_LENGTH: String(SIX_DIGIT_CODE_LENGTH),
      ACTIVATION_CODE_TTL_SECS: String(SIX_DIGIT_CODE_TTL_SECS),
    }),
  ],
});
