// `prepack strip` / `postpack restore`: the published manifest carries no `prepare` script.
// `prepare` is what makes `npm install` in a clone build the addon and dist/, and npm runs it for
// git and directory installs of a published package too, and while packing: the tarball should
// neither rebuild Rust when it is packed nor ask a consumer to. npm packs the package.json it
// finds on disk after `prepack`, so the script is taken out for the length of the pack and the
// original text (byte for byte) is put back by `postpack`.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifestPath = join(root, 'package.json');
// Outside `files`, so it is never packed; left behind only if a pack dies between the two steps,
// and then the next `strip` or `restore` puts it back first.
const backupPath = join(root, '.package.json.prepack');

function restore() {
  if (existsSync(backupPath)) renameSync(backupPath, manifestPath);
}

function strip() {
  restore();
  const text = readFileSync(manifestPath, 'utf8');
  const manifest = JSON.parse(text);
  if (manifest.scripts?.prepare === undefined) return;
  writeFileSync(backupPath, text);
  delete manifest.scripts.prepare;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}

const step = process.argv[2];
if (step === 'strip') strip();
else if (step === 'restore') restore();
else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
