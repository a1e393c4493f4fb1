// Builds, checks and packs the prebuilt binaries of every target in package.json `napi.targets`,
// cross-compiling from one x64 Linux machine with cargo-zigbuild (zig as C compiler and linker).
//
//   node scripts/platforms.mjs build [suffix...]   target/platforms/... → backend-node-rs.<suffix>.node
//   node scripts/platforms.mjs check [suffix...]   format, CPU, exported symbol, glibc floor, size
//   node scripts/platforms.mjs pack [dir]          binaries into npm/<suffix>/, then `npm pack` of
//                                                  each platform package and of the main package
//   node scripts/platforms.mjs suites <suffix> <node> [args...]
//                                                  the client, Express and Fastify suites with that
//                                                  binary, under a Node.js of that platform
//
// The local `npm run build:native` stays a plain native build; the release binaries come from
// here, in their own cargo target directory so neither build invalidates the other's cache.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { binaryName } = manifest.napi;
const crateLib = 'monocloud_backend_node_rs';
const targetDir = resolve(process.env.CARGO_TARGET_DIR ?? join(root, 'target', 'platforms'));

// The oldest glibc the gnu builds may need: RHEL/CentOS 7, Amazon Linux 2, Debian 8 onwards.
export const GLIBC_FLOOR = '2.17';
// What the release build aims for; over it the check warns (it does not fail: see the README).
const SIZE_BUDGET = 5 * 1024 * 1024;

// napi's platform names → how to build and what the result must look like.
export const TARGETS = {
  'linux-x64-gnu': { triple: 'x86_64-unknown-linux-gnu', format: 'elf', machine: 62, libc: 'glibc' },
  'linux-arm64-gnu': { triple: 'aarch64-unknown-linux-gnu', format: 'elf', machine: 183, libc: 'glibc' },
  'linux-x64-musl': { triple: 'x86_64-unknown-linux-musl', format: 'elf', machine: 62, libc: 'musl' },
  'linux-arm64-musl': { triple: 'aarch64-unknown-linux-musl', format: 'elf', machine: 183, libc: 'musl' },
  // The oldest macOS each Node.js 20 build supports; left alone, the linker would stamp its own.
  'darwin-x64': { triple: 'x86_64-apple-darwin', format: 'macho', cpuType: 0x01000007, macos: '10.15' },
  'darwin-arm64': { triple: 'aarch64-apple-darwin', format: 'macho', cpuType: 0x0100000c, macos: '11.0' },
};

const suffixOf = (triple) => Object.keys(TARGETS).find((suffix) => TARGETS[suffix].triple === triple);

function selected(args) {
  const listed = manifest.napi.targets.map((triple) => {
    const suffix = suffixOf(triple);
    if (!suffix) throw new Error(`napi.targets lists ${triple}, which this script does not know how to build`);
    return suffix;
  });
  for (const arg of args) if (!listed.includes(arg)) throw new Error(`${arg} is not in napi.targets (${listed.join(', ')})`);
  return args.length > 0 ? args : listed;
}

const binaryPath = (suffix) => join(root, `${binaryName}.${suffix}.node`);

// ---------------------------------------------------------------------------------------------
// build

// macOS's frameworks (Security for the platform certificate verifier, CoreFoundation under it,
// SystemConfiguration for the system proxy settings) are not in any SDK reachable here. A linker
// needs only their names and exported symbols, which is all an SDK's text stubs (.tbd) hold: we
// write such stubs for exactly the symbols the crates import, with the frameworks' real install
// names, so the dylib binds to the system's frameworks when macOS loads it.
const FRAMEWORKS = {
  CoreFoundation: /^_(CF|kCF)/,
  Security: /^_(Sec|kSec|SSL|CMS|Authorization)/,
  SystemConfiguration: /^_(SC|kSC)/,
};
const symbolsFile = join(root, 'scripts', 'darwin-framework-symbols.json');
const frameworkSymbols = () => JSON.parse(readFileSync(symbolsFile, 'utf8'));

// When a dependency starts importing another framework symbol, check:platforms names it as bound
// to no library: this files the names found in that output (stdin) under their framework.
function addFrameworkSymbols(linkerOutput) {
  const symbols = frameworkSymbols();
  const undefinedNames = new Set(linkerOutput.match(/\b_(?:CF|kCF|Sec|kSec|SSL|CMS|Authorization|SC|kSC)\w+/g) ?? []);
  const unfiled = [];
  for (const symbol of undefinedNames) {
    const framework = Object.keys(FRAMEWORKS).find((name) => FRAMEWORKS[name].test(symbol));
    if (!framework) unfiled.push(symbol);
    else symbols[framework] = [...new Set([...(symbols[framework] ?? []), symbol])].sort();
  }
  writeFileSync(symbolsFile, `${JSON.stringify(symbols, null, 2)}\n`);
  console.log(Object.entries(symbols).map(([name, list]) => `${name}: ${list.length}`).join(', '));
  if (unfiled.length > 0) console.log(`not filed (no framework matches): ${unfiled.join(' ')}`);
  // cargo does not track the stubs, only the build script: touching it makes the next build relink.
  console.log('now `touch build.rs` and build the macOS targets again');
}

function writeFrameworkStubs() {
  const dir = join(targetDir, 'darwin-frameworks');
  const symbols = frameworkSymbols();
  for (const [name, list] of Object.entries(symbols)) {
    const framework = join(dir, `${name}.framework`);
    mkdirSync(framework, { recursive: true });
    const stub = [
      '--- !tapi-tbd',
      'tbd-version: 4',
      'targets: [ x86_64-macos, arm64-macos ]',
      `install-name: '/System/Library/Frameworks/${name}.framework/Versions/A/${name}'`,
      'exports:',
      '  - targets: [ x86_64-macos, arm64-macos ]',
      `    symbols: [ ${list.join(', ')} ]`,
      '...',
      '',
    ].join('\n');
    writeFileSync(join(framework, `${name}.tbd`), stub);
  }
  return dir;
}

function build(suffix) {
  const { triple, libc, format, macos } = TARGETS[suffix];
  // zig links gnu targets against the glibc version named in the triple.
  const zigTarget = libc === 'glibc' ? `${triple}.${GLIBC_FLOOR}` : triple;
  const env = { ...process.env, CARGO_TARGET_DIR: targetDir };
  const flags = [];
  // Rust's musl targets link the C runtime statically by default, which a shared library that
  // Node's musl libc loads must not do.
  if (libc === 'musl') flags.push('-C', 'target-feature=-crt-static');
  if (format === 'macho') {
    flags.push('-C', `link-arg=-F${writeFrameworkStubs()}`);
    env.MACOSX_DEPLOYMENT_TARGET = macos;
  }
  if (flags.length > 0) env[`CARGO_TARGET_${triple.toUpperCase().replaceAll('-', '_')}_RUSTFLAGS`] = flags.join(' ');
  const started = Date.now();
  console.log(`\n== ${suffix}: cargo zigbuild --release --lib --target ${zigTarget}`);
  execFileSync('cargo', ['zigbuild', '--release', '--lib', '--target', zigTarget], { cwd: root, env, stdio: 'inherit' });
  const built = join(targetDir, triple, 'release', format === 'macho' ? `lib${crateLib}.dylib` : `lib${crateLib}.so`);
  copyFileSync(built, binaryPath(suffix));
  console.log(`${suffix}: ${binaryName}.${suffix}.node (${mib(statSync(built).size)}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

// ---------------------------------------------------------------------------------------------
// check

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

function tool(name) {
  // Mach-O is read with llvm-tools (a rustup component); ELF with binutils' readelf.
  const sysroot = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
  const host = execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^host: (.+)$/m)[1];
  const llvm = join(sysroot, 'lib', 'rustlib', host, 'bin', `llvm-${name}`);
  return existsSync(llvm) ? llvm : null;
}

const run = (command, args) => execFileSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

function versionNumber(version) {
  const [major, minor = 0, patch = 0] = version.split('.').map(Number);
  return major * 1_000_000 + minor * 1_000 + patch;
}

function checkElf(suffix, file, bytes, problems, facts) {
  const spec = TARGETS[suffix];
  if (bytes.readUInt32BE(0) !== 0x7f454c46) return problems.push('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) problems.push('not 64-bit little-endian ELF');
  const type = bytes.readUInt16LE(16);
  const machine = bytes.readUInt16LE(18);
  if (type !== 3) problems.push(`ELF type ${type}, not a shared object`);
  if (machine !== spec.machine) problems.push(`ELF machine ${machine}, expected ${spec.machine}`);

  const dynamic = run('readelf', ['-d', '-W', file]);
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  facts.push(`needs ${needed.join(' ')}`);
  const wantsGlibc = needed.some((lib) => lib.startsWith('libc.so.6'));
  if (spec.libc === 'glibc' && !wantsGlibc) problems.push('does not link glibc (libc.so.6)');
  if (spec.libc === 'musl' && (wantsGlibc || !needed.includes('libc.so'))) problems.push('does not link musl (libc.so) alone');

  const symbols = run('readelf', ['--dyn-syms', '-W', file]);
  const exported = symbols.split('\n').some((line) => /\bFUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+napi_register_module_v1$/.test(line.trim()));
  if (!exported) problems.push('napi_register_module_v1 is not exported');
  else facts.push('exports napi_register_module_v1');

  if (spec.libc === 'glibc') {
    const versions = [...run('readelf', ['-V', '-W', file]).matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]);
    const newest = versions.sort((a, b) => versionNumber(a) - versionNumber(b)).at(-1);
    facts.push(`newest GLIBC_${newest} (floor ${GLIBC_FLOOR})`);
    if (!newest || versionNumber(newest) > versionNumber(GLIBC_FLOOR)) problems.push(`needs GLIBC_${newest}, above the floor ${GLIBC_FLOOR}`);
  }
}

function checkMachO(suffix, file, bytes, problems, facts) {
  const spec = TARGETS[suffix];
  if (bytes.readUInt32LE(0) !== 0xfeedfacf) return problems.push('not a 64-bit Mach-O file');
  const cpuType = bytes.readUInt32LE(4);
  const fileType = bytes.readUInt32LE(12);
  if (cpuType !== spec.cpuType) problems.push(`Mach-O CPU type 0x${cpuType.toString(16)}, expected 0x${spec.cpuType.toString(16)}`);
  if (fileType !== 6) problems.push(`Mach-O file type ${fileType}, not a dylib`);
  const nm = tool('nm');
  const objdump = tool('objdump');
  if (!nm || !objdump) return problems.push('llvm-nm/llvm-objdump missing: rustup component add llvm-tools');
  const exported = run(nm, ['--extern-only', '--defined-only', file]).split('\n');
  if (!exported.some((line) => line.endsWith(' _napi_register_module_v1'))) problems.push('_napi_register_module_v1 is not exported');
  else facts.push('exports _napi_register_module_v1');
  // Only the system's libraries, by their real paths: no trace of the stubs it was linked with.
  const headers = run(objdump, ['--macho', '--private-headers', file]).split('\n');
  const loads = [];
  let command = '';
  for (const line of headers) {
    const cmd = line.match(/^\s+cmd (LC_\w+)/);
    if (cmd) command = cmd[1];
    const name = line.match(/^\s+name (\S+) \(offset/);
    if (!name) continue;
    if (command === 'LC_ID_DYLIB' && !name[1].startsWith('@rpath/')) problems.push(`install name ${name[1]} is a build path`);
    if (command === 'LC_LOAD_DYLIB') loads.push(name[1]);
  }
  facts.push(`links ${loads.map((path) => path.split('/').at(-1)).join(' ')}`);
  const minos = headers.join('\n').match(/cmd LC_BUILD_VERSION[\s\S]*?minos (\S+)/)?.[1];
  facts.push(`macOS ${minos}+`);
  if (!minos || versionNumber(minos) > versionNumber(spec.macos)) problems.push(`needs macOS ${minos}, above ${spec.macos}`);
  for (const dylib of loads) {
    if (!/^\/usr\/lib\/|^\/System\/Library\/Frameworks\//.test(dylib)) problems.push(`links ${dylib}, not a system library`);
  }
  // Every imported symbol is bound to the library that has it. napi's build lets undefined
  // symbols through (-undefined dynamic_lookup), so one a framework stub lacks would be looked
  // up by name at load time instead: `node scripts/platforms.mjs darwin-symbols` files them.
  const binds = run(objdump, ['--macho', '--bind', '--lazy-bind', '--weak-bind', file]);
  const flat = [...new Set(binds.split('\n').filter((line) => line.includes('flat-namespace')).map((line) => line.trim().split(/\s+/).at(-1)))];
  if (flat.length > 0) problems.push(`${flat.length} symbols bound to no library (${flat.slice(0, 5).join(' ')}...): pipe this output to \`node scripts/platforms.mjs darwin-symbols\``);
  else facts.push('every import bound to its library');
}

function check(suffix) {
  const file = binaryPath(suffix);
  const problems = [];
  const facts = [];
  if (!existsSync(file)) {
    problems.push(`${binaryName}.${suffix}.node is missing: run \`npm run build:platforms\``);
  } else {
    const bytes = readFileSync(file);
    facts.push(run('file', ['-b', file]).trim().replace(/, flags:.*$/, '').split(', ').slice(0, 2).join(', '));
    if (TARGETS[suffix].format === 'elf') checkElf(suffix, file, bytes, problems, facts);
    else checkMachO(suffix, file, bytes, problems, facts);
    const size = bytes.length;
    facts.push(`${mib(size)}${size > SIZE_BUDGET ? ` (over the ${mib(SIZE_BUDGET)} aim)` : ''}`);
  }
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${suffix}: ${facts.join('; ')}`);
  for (const problem of problems) console.log(`       ${problem}`);
  return problems.length === 0;
}

// ---------------------------------------------------------------------------------------------
// pack

function pack(destination) {
  mkdirSync(destination, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const tarballs = [];
  for (const suffix of selected([])) {
    const { main } = JSON.parse(readFileSync(join(root, 'npm', suffix, 'package.json'), 'utf8'));
    copyFileSync(binaryPath(suffix), join(root, 'npm', suffix, main));
    tarballs.push(execFileSync(npm, ['pack', '--pack-destination', destination], { cwd: join(root, 'npm', suffix), encoding: 'utf8' }));
  }
  tarballs.push(execFileSync(npm, ['pack', '--pack-destination', destination], { cwd: root, encoding: 'utf8' }));
  for (const name of tarballs.map((out) => out.trim().split('\n').at(-1))) {
    console.log(`${join(destination, name)} (${mib(statSync(join(destination, name)).size)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// suites

// What "runs on a platform" means here: the client's suites and the Express/Fastify one pass
// with that platform's binary under that platform's Node.js (an emulated one for arm64).
const SUITES = [
  ...readdirSync(join(root, '__tests__', 'client'))
    .filter((file) => file.endsWith('.test.mjs'))
    .sort()
    .map((file) => join('__tests__', 'client', file)),
  join('__tests__', 'adapters', 'protect-api.test.mjs'),
];

function suites(suffix, node, nodeArgs) {
  if (!suffix || !node) throw new Error('usage: node scripts/platforms.mjs suites <suffix> <node> [node args...]');
  const env = { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: binaryPath(suffix) };
  const args = [...nodeArgs, '--test', '--test-concurrency=1', '--test-timeout=600000', ...SUITES];
  // The loader falls back to other files when the override does not load: load it directly
  // first, so a pass cannot come from another binary.
  const probe = `require(process.env.NAPI_RS_NATIVE_LIBRARY_PATH);
const libc = process.report.getReport().header.glibcVersionRuntime;
console.log('loaded in Node.js ' + process.version + ' ' + process.platform + '-' + process.arch + ', ' + (libc ? 'glibc ' + libc : 'no glibc'));`;
  execFileSync(node, [...nodeArgs, '-e', probe], { cwd: root, env, stdio: 'inherit' });
  console.log(`${node} ${args.join(' ')}\n  with NAPI_RS_NATIVE_LIBRARY_PATH=${env.NAPI_RS_NATIVE_LIBRARY_PATH}`);
  execFileSync(node, args, { cwd: root, env, stdio: 'inherit' });
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'build') {
    for (const suffix of selected(args)) build(suffix);
  } else if (command === 'check') {
    const results = selected(args).map(check);
    if (results.includes(false)) process.exit(1);
  } else if (command === 'darwin-symbols') {
    addFrameworkSymbols(readFileSync(0, 'utf8'));
  } else if (command === 'suites') {
    suites(args[0], args[1], args.slice(2));
  } else if (command === 'pack') {
    pack(resolve(args[0] ?? join(root, 'release')));
  } else {
    console.error('usage: node scripts/platforms.mjs build|check [suffix...] | pack [dir] | suites <suffix> <node>');
    process.exit(2);
  }
}
