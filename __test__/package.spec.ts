// The packaging test: pack the root package and this platform's binary package exactly as the release
// would (scripts/package.mjs), install them into a fresh project with no Rust toolchain on PATH, and open
// the bundled sample from there through CommonJS `require`, ESM `import` and TypeScript's type checker;
// the exports map lets consumers reach the entry only.
// A second project installs the root package without its platform package and must get an error that
// names the platform.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadExpected, normalizeExpected, store } from './helpers/expected';

const repo = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'rustytree-package-'));
const platform = `${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`;
const sample = store('nexrad.zarr');

// Node and the system tools, but nothing from rustup/cargo: the installed package must not need Rust.
const consumerEnv = {
  ...process.env,
  PATH: [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin']
    .filter((dir) => !dir.includes('.cargo') && !dir.includes('rustup'))
    .join(':'),
  RUSTUP_HOME: '/nonexistent',
  CARGO_HOME: '/nonexistent',
};

interface Tarballs {
  root: string;
  platforms: Record<string, string>;
}

let tarballs: Tarballs;

test.before(() => {
  const out = execFileSync(process.execPath, [join(repo, 'scripts', 'package.mjs'), '--out', join(work, 'tarballs')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  tarballs = JSON.parse(out) as Tarballs;
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

function makeProject(name: string, packages: string[], extraArgs: string[] = []): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', ...extraArgs, ...packages], {
    cwd: dir,
    env: consumerEnv,
    stdio: 'ignore',
  });
  return dir;
}

function run(dir: string, args: string[]) {
  return spawnSync(process.execPath, args, { cwd: dir, env: consumerEnv, encoding: 'utf8', timeout: 60_000 });
}

/** TypeScript's checker on `files` in the consumer project `dir`, as a Node ESM/CommonJS project sees them. */
function typeCheck(dir: string, ...files: string[]) {
  return run(dir, [
    join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--types',
    'node',
    '--typeRoots',
    join(repo, 'node_modules', '@types'),
    ...files,
  ]);
}

// What the consumer scripts print: the group paths and the first ray of DBZH, in the fixture JSON form.
const readSample = (importLine: string) => `${importLine}
const tree = await openDatatree(${JSON.stringify(sample)});
const dbzh = tree.get('/VCP-12/sweep_0').dataset.get('DBZH');
const ray = await dbzh.read({ vcp_time: 0, azimuth: 0 });
console.log(JSON.stringify({
  paths: [...tree.subtree].map((node) => node.path),
  ray: Array.from(ray.data, (v) => (Number.isNaN(v) ? 'NaN' : v)),
}));
`;

function expectedOutput() {
  const expected = loadExpected('nexrad.json');
  const dbzh = expected.nodes['/VCP-12/sweep_0'].variables.DBZH;
  const ray = (dbzh.values as unknown[]).slice(0, dbzh.shape[2]).map((v) => normalizeExpected(v, dbzh.dtype));
  return { paths: Object.keys(expected.nodes).sort(), ray };
}

test.serial('the packed packages install without Rust and open the sample from CJS, ESM and TypeScript', (t) => {
  t.truthy(tarballs.platforms[platform], `scripts/package.mjs packed no ${platform} binary`);
  t.not(spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env: consumerEnv }).status, 0, 'Rust is on PATH');
  const dir = makeProject('consumer', [tarballs.root, tarballs.platforms[platform]]);
  const want = expectedOutput();

  writeFileSync(join(dir, 'cjs.cjs'), `(async () => {\n${readSample("const { openDatatree } = require('rustytree');")}\n})();`);
  const cjs = run(dir, ['cjs.cjs']);
  t.is(cjs.status, 0, cjs.stderr);
  const fromCjs = JSON.parse(cjs.stdout) as { paths: string[]; ray: unknown[] };
  t.deepEqual([...fromCjs.paths].sort(), want.paths);
  t.deepEqual(fromCjs.ray, want.ray);

  writeFileSync(join(dir, 'esm.mjs'), readSample("import { openDatatree } from 'rustytree';"));
  const esm = run(dir, ['esm.mjs']);
  t.is(esm.status, 0, esm.stderr);
  t.deepEqual(JSON.parse(esm.stdout), fromCjs);

  // The declarations must resolve from the installed package and type the API; a wrong use must not compile.
  writeFileSync(
    join(dir, 'types.ts'),
    `import { openDatatree, DataTree, Variable, isRustytreeError } from 'rustytree';
export async function main(): Promise<number> {
  const tree: DataTree = await openDatatree('sample', { groupFilter: '/*/sweep_0', maxConcurrency: 8 });
  const v: Variable | undefined = tree.get('/VCP-12/sweep_0')?.dataset.get('DBZH');
  const values = await v!.read({ azimuth: [0, 2] });
  try { await openDatatree('missing'); } catch (e) { if (isRustytreeError(e)) return e.code.length; }
  return values.shape.length;
}
`,
  );
  writeFileSync(join(dir, 'wrong.ts'), `import { openDatatree } from 'rustytree';\nopenDatatree('x', { maxConcurrency: 'eight' });\n`);
  const good = typeCheck(dir, 'types.ts');
  t.is(good.status, 0, good.stdout + good.stderr);
  const wrong = typeCheck(dir, 'wrong.ts');
  t.not(wrong.status, 0);
  t.regex(wrong.stdout, /wrong\.ts\(2,.*TS2322/);
});

// package.json's `exports`: `import` (index.mjs, typed by index.d.mts) and `require` (index.js, typed by
// index.d.ts) reach the same module, and nothing else in the package can be imported by name: not the
// native binding (native.js, whose `_testPanic` exists for the tests), not dist/.
const DEEP_IMPORTS = ['rustytree/native.js', 'rustytree/native', 'rustytree/dist/index.js', 'rustytree/index.js'];

const ENTRIES = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const esm = await import('rustytree');
const cjs = require('rustytree');
const refusal = async (load) => { try { await load(); return 'loaded'; } catch (e) { return e.code; } };
const deep = {};
for (const name of ${JSON.stringify(DEEP_IMPORTS)}) {
  deep[name] = { require: await refusal(() => require(name)), import: await refusal(() => import(name)) };
}
console.log(JSON.stringify({
  sameModule: esm.default === cjs && esm.RustytreeError === cjs.RustytreeError && esm.openDatatree === cjs.openDatatree,
  // Node's reading of a CommonJS module's names also finds tsc's __esModule marker.
  esmNames: Object.keys(esm).filter((k) => k !== 'default' && k !== '__esModule').sort(),
  cjsNames: Object.keys(cjs).sort(),
  version: require('rustytree/package.json').version,
  deep,
}));
`;

test.serial('import and require reach one module through the exports map; deep imports such as native.js are refused', (t) => {
  const dir = makeProject('exports', [tarballs.root, tarballs.platforms[platform]]);
  writeFileSync(join(dir, 'entries.mjs'), ENTRIES);
  const result = run(dir, ['entries.mjs']);
  t.is(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout) as {
    sameModule: boolean;
    esmNames: string[];
    cjsNames: string[];
    version: string;
    deep: Record<string, unknown>;
  };
  t.true(out.sameModule, 'import and require give the same exports object');
  t.deepEqual(out.esmNames, out.cjsNames);
  t.true(out.cjsNames.includes('openDatatree') && !out.cjsNames.includes('_testPanic'), out.cjsNames.join(', '));
  t.is(out.version, JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
  const refused = { require: 'ERR_PACKAGE_PATH_NOT_EXPORTED', import: 'ERR_PACKAGE_PATH_NOT_EXPORTED' };
  t.deepEqual(out.deep, Object.fromEntries(DEEP_IMPORTS.map((name) => [name, refused])));
  // The binding is installed (the entry loads it), only not reachable by name.
  t.true(existsSync(join(dir, 'node_modules', 'rustytree', 'native.js')));

  // Both conditions carry types: an ESM (.mts) and a CommonJS (.cts) consumer type-check, and a deep
  // import does not resolve for either.
  const use = (importLine: string) => `${importLine}
export async function main(): Promise<string> {
  const tree: DataTree = await openDatatree('sample');
  return new RustytreeError('ERR_INTERNAL', tree.path).code;
}
`;
  writeFileSync(join(dir, 'esm.mts'), use("import { openDatatree, RustytreeError, type DataTree } from 'rustytree';"));
  writeFileSync(join(dir, 'cjs.cts'), use("import { openDatatree, RustytreeError, type DataTree } from 'rustytree';"));
  writeFileSync(
    join(dir, 'default.mts'),
    "import rustytree from 'rustytree';\nexport const open: typeof rustytree.openDatatree = rustytree.openDatatree;\n",
  );
  writeFileSync(join(dir, 'deep.mts'), "import { _testPanic } from 'rustytree/native.js';\nexport const p = _testPanic;\n");
  writeFileSync(join(dir, 'deep.cts'), "import { _testPanic } from 'rustytree/native';\nexport const p = _testPanic;\n");
  const good = typeCheck(dir, 'esm.mts', 'cjs.cts', 'default.mts');
  t.is(good.status, 0, good.stdout + good.stderr);
  const deep = typeCheck(dir, 'deep.mts', 'deep.cts');
  t.not(deep.status, 0);
  t.regex(deep.stdout, /deep\.mts\(1,.*TS2307/);
  t.regex(deep.stdout, /deep\.cts\(1,.*TS2307/);
});

test.serial('without its platform package the root package says which platform it looked for', (t) => {
  const dir = makeProject('no-binary', [tarballs.root], ['--omit=optional']);
  const result = run(dir, [
    '-e',
    "try { require('rustytree') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }",
  ]);
  t.is(result.status, 0, result.stderr);
  const error = JSON.parse(result.stdout) as { code: string; message: string };
  t.is(error.code, 'ERR_UNSUPPORTED_PLATFORM');
  t.true(error.message.includes(`${process.platform}-${process.arch}`), error.message);
  t.true(error.message.includes(`rustytree-${platform}`), error.message);
});
