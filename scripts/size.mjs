// Prints the raw and brotli-compressed sizes of the site's WASM, JS and CSS (`make size`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'target/site/pkg';
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(11);
let rawTotal = 0;
let brTotal = 0;
console.log(`${'file'.padEnd(24)}${'raw'.padStart(11)}${'brotli'.padStart(11)}`);
for (const name of readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f)).sort()) {
  const bytes = readFileSync(join(dir, name));
  const br = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
  rawTotal += bytes.length;
  brTotal += br;
  console.log(`${name.padEnd(24)}${kib(bytes.length)}${kib(br)}`);
}
console.log(`${'total'.padEnd(24)}${kib(rawTotal)}${kib(brTotal)}`);
