// The app servers besides the usual one, as playwright.config.ts starts them and as the specs
// that use them rely on. Each has its own port and database (`make e2e` sets both).

/**
 * The server binary every test server runs, relative to the repository. `make e2e` and `make test`
 * set it to `target/e2e/server`: the test build's server beside the `hash.txt` of the WASM that
 * ships (split into chunks, hashed names, precompressed). Without them, the release build.
 */
export const SERVER_BINARY = process.env.E2E_SERVER_BINARY ?? 'target/release/server';

/** The server at `E2E_SIX_DIGIT_PORT` sends codes this long (tests/six-digit.spec.ts)… */
export const SIX_DIGIT_CODE_LENGTH = 6;
/**
 * …that live this long: not the default 60 s, which the activation page also falls back to, so
 * a countdown that starts from it can only come from this server.
 */
export const SIX_DIGIT_CODE_TTL_SECS = 120;

/** `http://127.0.0.1:<port>`, the port from the environment variable `portVariable`. */
export function serverOrigin(portVariable: 'E2E_SIX_DIGIT_PORT'): string {
  const port = process.env[portVariable];
  if (!port) {
    throw new Error(`${portVariable} is not set: run the end-to-end tests with \`make e2e\` or \`make test\`.`);
  }
  return `http://127.0.0.1:${port}`;
}
