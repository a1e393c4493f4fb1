// Where the repository's files are, for tests in any folder below __tests__/: a test never
// climbs with '../' itself, so moving a test between folders changes no path.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An absolute path below the repository root. */
export const fromRoot = (...parts) => join(ROOT, ...parts);
