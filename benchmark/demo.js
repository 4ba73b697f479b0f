// Opens a tree, prints it, reads one variable from every sweep and prints timings.
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
}

main(process.argv[2] || 'fixtures/stores/nexrad.zarr').catch((e) => {
  console.error(`${e.code ?? 'Error'}: ${e.message}`);
  process.exit(1);
});
