// The one place tests reach the napi-generated loader (NativeClient and the __testPanic* hooks)
// directly instead of through the package's public face: when the loader moves or is renamed,
// NATIVE_LOADER below is the only line to change. MONOCLOUD_TEST_NATIVE points the tests at
// another build of it (a hooks-enabled one, say) without touching the tree.
import { createRequire } from 'node:module';

import { fromRoot } from './paths.mjs';

/** The loader's path relative to the repository root, as package.json `files` ships it. */
export const NATIVE_LOADER = 'index.js';
/** Its type declarations, shipped beside it. */
export const NATIVE_TYPES = 'index.d.ts';

/** The loader the tests use: MONOCLOUD_TEST_NATIVE (an absolute path) when set, else the tree's own. */
export const nativePath = () => process.env.MONOCLOUD_TEST_NATIVE ?? fromRoot(NATIVE_LOADER);

/** The loaded native module. */
export const loadNative = () => createRequire(import.meta.url)(nativePath());
