// Puts each built binary into its platform package (npm/<platform>/), for `npm publish` there.
// Each package's `main` names its binary, which the build leaves in the package root. A plain copy,
// because the napi CLI's artifact search also finds the debug test addon under target/ and stops
// at the duplicate name.
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const missing = [];
for (const dir of readdirSync(join(root, 'npm')).sort()) {
  const { main } = JSON.parse(readFileSync(join(root, 'npm', dir, 'package.json'), 'utf8'));
  const built = join(root, main);
  if (!existsSync(built)) {
    missing.push(main);
    continue;
  }
  copyFileSync(built, join(root, 'npm', dir, main));
  console.log(`npm/${dir}/${main}`);
}
if (missing.length > 0) {
  console.error(`not built here: ${missing.join(', ')} (build each target first)`);
  process.exit(1);
}
