// The packaging test: pack the root package and this platform's binary package exactly as the release
// would (scripts/package.mjs), install them into a fresh project with no Rust toolchain on PATH, and open
// the bundled sample from there through CommonJS `require`, ESM `import` and TypeScript's type checker.
// A second project installs the root package without its platform package and must get an error that
// names the platform.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  const tsc = (file: string) =>
    run(dir, [
      join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(repo, 'node_modules', '@types'), file,
    ]);
  const good = tsc('types.ts');
  t.is(good.status, 0, good.stdout + good.stderr);
  const wrong = tsc('wrong.ts');
  t.not(wrong.status, 0);
  t.regex(wrong.stdout, /wrong\.ts\(2,.*TS2322/);
});

test.serial('without its platform package the root package says which platform it looked for', (t) => {
  const dir = makeProject('no-binary', [tarballs.root], ['--omit=optional']);
  const result = run(dir, ['-e', "try { require('rustytree') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"]);
  t.is(result.status, 0, result.stderr);
  const error = JSON.parse(result.stdout) as { code: string; message: string };
  t.is(error.code, 'ERR_UNSUPPORTED_PLATFORM');
  t.true(error.message.includes(`${process.platform}-${process.arch}`), error.message);
  t.true(error.message.includes(`rustytree-${platform}`), error.message);
});
