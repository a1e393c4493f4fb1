// Keeps `prepare` out of the published manifest. `prepare` is what makes `npm install` in a
// clone build the addon and dist/; npm also runs it when packing a directory, and for git and
// directory installs of a published package, so shipping it would rebuild Rust on `npm pack`
// and ask consumers to build. npm packs the package.json it finds on disk after `prepack`:
//
//   prepack      strip: save package.json byte for byte, write it without the pack-time scripts
//   postpack     restore-after-pack: put it back, except inside `npm publish`, which reads the
//                manifest again after packing and sends that one to the registry
//   postpublish  restore
//
// `postpack` runs from the manifest npm read before `prepack`, so it may be stripped too;
// `postpublish` runs from the manifest read after packing, so it must stay.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const manifestPath = process.env.npm_package_json ?? join(process.cwd(), 'package.json');
// Outside `files`, so it is never packed; left behind only if a pack or publish dies between
// the steps, and then the next step puts it back first.
const backupPath = join(dirname(manifestPath), '.package.json.prepack');
const PACK_TIME_SCRIPTS = ['prepare', 'prepack', 'postpack'];

function restore() {
  if (existsSync(backupPath)) renameSync(backupPath, manifestPath);
}

function strip() {
  restore();
  const text = readFileSync(manifestPath, 'utf8');
  const manifest = JSON.parse(text);
  if (!PACK_TIME_SCRIPTS.some((name) => manifest.scripts?.[name] !== undefined)) return;
  writeFileSync(backupPath, text);
  for (const name of PACK_TIME_SCRIPTS) delete manifest.scripts[name];
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}

const step = process.argv[2];
if (step === 'strip') strip();
else if (step === 'restore') restore();
else if (step === 'restore-after-pack') {
  if (process.env.npm_command !== 'publish') restore();
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore|restore-after-pack');
  process.exit(2);
}
