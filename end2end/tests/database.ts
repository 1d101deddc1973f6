import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs one SQL statement on the database of the usual test server (`E2E_DATABASE_URL`), through
 * the project's psql (scripts/postgres.sh finds it). For moving state into the past instead of
 * waiting for it: a test that waits out a lifetime is as slow as the lifetime.
 */
export function sql(statement: string, ...params: string[]): void {
  const database = process.env.E2E_DATABASE_URL;
  if (!database) {
    throw new Error('E2E_DATABASE_URL is not set: run the end-to-end tests with `make e2e` or `make test`.');
  }
  const args = [database, '--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1'];
  params.forEach((value, i) => args.push('--set', `p${i + 1}=${value}`));
  execFileSync(join(process.cwd(), '..', 'scripts', 'postgres.sh'), ['psql', ...args], {
    input: statement,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Moves a person's activation codes `seconds` into the past (issue and expiry), as if time had passed. */
export function ageCodes(email: string, seconds: number): void {
  sql(
    `update one_time_codes c
        set issued_at = issued_at - make_interval(secs => :'p2'),
            expires_at = expires_at - make_interval(secs => :'p2')
       from users u
      where u.id = c.user_id and lower(u.email) = lower(:'p1');`,
    email,
    String(seconds),
  );
}
