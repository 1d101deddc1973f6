import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { newPerson, type Person } from './mailbox';
import { SERVER_BINARY } from './servers';

/**
 * An administrator made the only way there is: `server create-admin` on the host, the password
 * on standard input, against the database of the server under test.
 */
export function createAdmin(person: Person): string {
  const database = process.env.E2E_DATABASE_URL;
  if (!database) {
    throw new Error('E2E_DATABASE_URL is not set: run the end-to-end tests with `make e2e` or `make test`.');
  }
  const binary = join(process.cwd(), '..', SERVER_BINARY);
  return execFileSync(
    binary,
    [
      'create-admin',
      '--email', person.email,
      '--first-name', person.firstName,
      '--last-name', person.lastName,
      '--phone', person.phoneNumber,
    ],
    { input: `${person.password}\n`, env: { ...process.env, DATABASE_URL: database, RUST_LOG: 'warn' }, encoding: 'utf8' },
  );
}

/** Someone to make an administrator: a new person with another name. */
export function newAdmin(): Person {
  return { ...newPerson(), firstName: 'Grace', lastName: 'Hopper' };
}
