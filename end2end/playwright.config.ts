import { defineConfig, devices, type Config } from '@playwright/test';

// `make e2e` (and `make test`) build the app, start a throwaway Postgres, and set these.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const databaseUrl = process.env.E2E_DATABASE_URL;
if (!databaseUrl) {
  throw new Error('E2E_DATABASE_URL is not set: run the end-to-end tests with `make e2e` or `make test`.');
}
// A second server whose activation codes live 2 seconds, for tests/expiry.spec.ts. It has its
// own database: two servers applying the migrations to one database at start-up would race.
const shortTtlPort = Number(process.env.E2E_SHORT_TTL_PORT);
const shortTtlDatabaseUrl = process.env.E2E_SHORT_TTL_DATABASE_URL;
if (!process.env.E2E_SHORT_TTL_PORT || !Number.isInteger(shortTtlPort) || !shortTtlDatabaseUrl) {
  throw new Error(
    'E2E_SHORT_TTL_PORT and E2E_SHORT_TTL_DATABASE_URL are not set: run the end-to-end tests with `make e2e` or `make test`.',
  );
}
if (shortTtlPort === port || shortTtlDatabaseUrl === databaseUrl) {
  throw new Error('The short-TTL server needs its own port and database (E2E_SHORT_TTL_PORT, E2E_SHORT_TTL_DATABASE_URL).');
}

type WebServer = Exclude<NonNullable<Config['webServer']>, readonly unknown[]>;

/** The built server binary, on its own database; polled until ready, stopped when the run ends. */
function server(name: string, serverPort: number, database: string, env: Record<string, string> = {}): WebServer {
  return {
    name,
    command: './target/debug/server',
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
      APP_ENV: 'development',
      // Empty counts as unset: mail goes to /dev/mailbox, where the tests read the codes.
      SMTP_URL: '',
      RUST_LOG: process.env.E2E_RUST_LOG ?? 'warn',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 2,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  use: {
    baseURL,
    trace: 'on-first-retry',
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
    server('app, 2 s codes', shortTtlPort, shortTtlDatabaseUrl, { ACTIVATION_CODE_TTL_SECS: '2' }),
  ],
});
