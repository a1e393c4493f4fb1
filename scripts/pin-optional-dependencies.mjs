// Pins every platform package in npm/ as an optional dependency at this package's version, so
// the tarball names exactly the binaries built with it. Runs from the `version` script, after
// `napi version` has moved npm/*/package.json to the new version. (`napi prepublish` pins them
// again at publish time; this keeps the tree consistent in between, which the packaging test
// checks.)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifestPath = join(root, 'package.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));

const pinned = {};
for (const dir of readdirSync(join(root, 'npm')).sort()) {
  const { name } = JSON.parse(readFileSync(join(root, 'npm', dir, 'package.json'), 'utf8'));
  pinned[name] = manifest.version;
}
manifest.optionalDependencies = pinned;
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`optionalDependencies: ${Object.keys(pinned).join(', ')} @ ${manifest.version}`);
