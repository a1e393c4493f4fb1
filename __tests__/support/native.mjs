// The one place tests reach the napi-generated loader (NativeClient, bearerToken) or the
// test-only addon directly instead of through the package's public face: when either moves, a
// constant below is the only line to change. MONOCLOUD_TEST_NATIVE points the panic tests at
// another hooks-enabled build without touching the tree.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

import { fromRoot } from './paths.mjs';

/** The loader's path relative to the repository root, as package.json `files` ships it. */
export const NATIVE_LOADER = 'binding.cjs';
/** Its type declarations, shipped beside it. */
export const NATIVE_TYPES = 'binding.d.cts';
/** Where `npm run build:test-addon` puts the addon built with the `test-hooks` feature. */
export const TEST_ADDON_DIR = fromRoot('target', 'test-addon');

const require = createRequire(import.meta.url);

/** The release loader the package ships. */
export const loadNative = () => require(fromRoot(NATIVE_LOADER));

/**
 * The addon with the panic hooks: MONOCLOUD_TEST_NATIVE (an absolute path) when set, else the
 * test build. Missing, it throws: the panic tests must fail, not pass by being skipped.
 */
export function loadTestAddon() {
  const override = process.env.MONOCLOUD_TEST_NATIVE;
  if (override) return require(override);
  const binary = existsSync(TEST_ADDON_DIR) ? readdirSync(TEST_ADDON_DIR).find((f) => f.endsWith('.node')) : undefined;
  if (!binary) throw new Error(`No test addon in ${TEST_ADDON_DIR}: run \`npm run build:test-addon\` first`);
  return require(fromRoot('target', 'test-addon', binary));
}
