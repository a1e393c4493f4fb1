// Vitest as a user runs it, with the package imported by its name.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite's cache would otherwise land in a node_modules folder inside the repository's tests.
  cacheDir: join(tmpdir(), 'monocloud-runners-vite'),
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['vitest/**/*.test.mjs'],
    testTimeout: 30_000,
  },
});
