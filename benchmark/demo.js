// Opens a tree, prints it, reads one variable from every sweep and prints timings; then the same open and
// read side by side with zarrita.js on a local store.
'use strict';
const { openDatatree } = require('..');

async function main(source) {
  const t0 = performance.now();
  const tree = await openDatatree(source);
  const t1 = performance.now();
  console.log(tree.toString());
  const sweeps = [...tree.subtree].filter((n) => n.dataset.dataVars.has('DBZH'));
  const t2 = performance.now();
  const arrays = await Promise.all(sweeps.map((n) => n.dataset.get('DBZH').read()));
  const t3 = performance.now();
  const values = arrays.reduce((n, a) => n + a.data.length, 0);
  const nodes = [...tree.subtree].length;
  console.log(`\nopen (metadata + index coordinates, ${nodes} groups): ${(t1 - t0).toFixed(1)} ms`);
  console.log(`read DBZH from ${sweeps.length} sweeps (${values} values, CF-decoded): ${(t3 - t2).toFixed(1)} ms`);
  if (!/^[a-z0-9]+:\/\//i.test(source)) await sideBySide(source, 'DBZH');
}

const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median ms of RUNS runs of `f` after a warm-up run, and the last run's result. */
async function timed(f) {
  let result = await f();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    result = await f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), result };
}

/**
 * rustytree against zarrita.js on a local consolidated store: open the tree (metadata only, no index
 * coordinates) and read `name` from every group that has it. zarrita returns the stored values, so its
 * values are unpacked here by the variable's `_FillValue`, `scale_factor` and `add_offset` before the
 * cross-check with rustytree's CF-decoded ones.
 */
async function sideBySide(source, name) {
  let zarr;
  let FileSystemStore;
  try {
    zarr = await import('zarrita');
    ({ FileSystemStore } = await import('@zarrita/storage'));
  } catch {
    console.log('\n(zarrita.js is a devDependency: not installed, no side-by-side)');
    return;
  }
  const version = require('../package.json').devDependencies.zarrita;
  const ours = await timed(() => openDatatree(source, { loadCoords: false }));
  const paths = [...ours.result.subtree].filter((n) => n.dataset.dataVars.has(name)).map((n) => `${n.path}/${name}`);
  const theirs = await timed(async () => {
    const store = await zarr.withConsolidatedMetadata(new FileSystemStore(source), { format: 'v3' });
    const root = zarr.root(store);
    const contents = store.contents();
    const nodes = await Promise.all(contents.map(({ path, kind }) => zarr.open(path === '/' ? root : root.resolve(path.slice(1)), { kind })));
    return new Map(contents.map(({ path }, i) => [path, nodes[i]]));
  });
  const variable = (tree, p) => tree.get(p.slice(0, p.lastIndexOf('/'))).dataset.get(name);
  const ourRead = await timed(() => Promise.all(paths.map((p) => variable(ours.result, p).read())));
  const arrays = paths.map((p) => theirs.result.get(p));
  const theirRead = await timed(() => Promise.all(arrays.map(async (a) => ({ attrs: a.attrs, chunk: await zarr.get(a) }))));
  let equal = 0;
  let total = 0;
  theirRead.result.forEach(({ attrs, chunk }, i) => {
    const decoded = ourRead.result[i].data;
    const fill = attrs._FillValue;
    const scale = attrs.scale_factor ?? 1;
    const offset = attrs.add_offset ?? 0;
    chunk.data.forEach((raw, k) => {
      const want = raw === fill ? NaN : raw * scale + offset;
      total++;
      if (Object.is(want, decoded[k]) || want === decoded[k]) equal++;
    });
  });
  const row = (what, a, b) => console.log(`  ${what.padEnd(40)} ${a.toFixed(1).padStart(7)} ms ${b.toFixed(1).padStart(9)} ms`);
  console.log(`\nside by side with zarrita.js ${version} (FileSystemStore), this process, median of ${RUNS} after a warm-up:`);
  console.log(`  ${''.padEnd(40)} ${'rustytree'.padStart(10)} ${'zarrita.js'.padStart(12)}`);
  row(`open the tree (metadata only, ${theirs.result.size} nodes)`, ours.ms, theirs.ms);
  row(`read ${name} from ${paths.length} sweeps`, ourRead.ms, theirRead.ms);
  console.log(
    `  values: ${equal} of ${total} equal (zarrita's stored values unpacked by _FillValue, scale_factor, add_offset)` +
      (equal === total ? '' : ' — MISMATCH'),
  );
}

main(process.argv[2] || 'fixtures/stores/nexrad.zarr').catch((e) => {
  console.error(`${e.code ?? 'Error'}: ${e.message}`);
  process.exit(1);
});
