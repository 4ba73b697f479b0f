// The open: groups, group filters, openDataset, coordinate loading and inheritance, selections and chunks.
import test from 'ava';
import { openDataset, openDatatree, readChunk, toDates } from '../index';
import { loadExpected, store } from './helpers/expected';

const nexrad = loadExpected('nexrad.json');
const flat = (name: string, node = '/VCP-12/sweep_0') => nexrad.nodes[node].variables[name].values as unknown[];
const num = (v: unknown) => (v === 'NaN' ? NaN : (v as number));

test('group re-roots the tree; its spelling is normalised', async (t) => {
  for (const group of ['/VCP-12', 'VCP-12/', '//VCP-12']) {
    const tree = await openDatatree(store('nexrad.zarr'), { group });
    t.is(tree.path, '/');
    t.deepEqual([...tree.children.keys()], ['sweep_0', 'sweep_1', 'sweep_2']);
    t.truthy(tree.get('sweep_1')?.dataset.get('ZDR'));
    t.is(tree.get('/sweep_1')?.parent, tree);
  }
});

test('groupFilter keeps matches and ancestors, consolidated or not', async (t) => {
  for (const name of ['nexrad.zarr', 'nexrad_unconsolidated.zarr']) {
    const tree = await openDatatree(store(name), { groupFilter: '/*/sweep_0' });
    t.deepEqual(
      [...tree.subtree].map((n) => n.path),
      ['/', '/VCP-12', '/VCP-12/sweep_0', '/VCP-212', '/VCP-212/sweep_0'],
    );
    const only = await openDatatree(store(name), { groupFilter: 'VCP-2?2/sweep_[1]' });
    t.deepEqual(
      [...only.subtree].map((n) => n.path),
      ['/', '/VCP-212', '/VCP-212/sweep_1'],
    );
  }
});

test('openDataset opens one group without its children', async (t) => {
  for (const name of ['nexrad.zarr', 'nexrad_unconsolidated.zarr']) {
    const ds = await openDataset(store(name), { group: '/VCP-12/sweep_0' });
    t.deepEqual([...ds.dataVars.keys()], ['DBZH', 'RHOHV', 'VRADH', 'ZDR']);
    t.deepEqual(ds.dims, { azimuth: 36, range: 20, vcp_time: 2 });
    const vcp = await openDataset(store(name), { group: 'VCP-12' });
    t.deepEqual([...vcp.variables.keys()].sort(), ['altitude', 'latitude', 'longitude', 'vcp_time']);
  }
});

test('index coordinates are loaded during the open, and inherited by children', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const sweep = tree.get('/VCP-12/sweep_0')!;
  const az = sweep.dataset.get('azimuth')!;
  t.truthy(az.values);
  t.deepEqual(Array.from(az.values!.data as Float32Array), flat('azimuth'));
  // vcp_time lives on /VCP-12 and is visible from the sweep, as in xarray.
  const vt = sweep.dataset.coords.get('vcp_time')!;
  t.is(vt, tree.get('/VCP-12')!.dataset.get('vcp_time'));
  t.deepEqual(
    toDates(vt.values!).map((d) => d!.toISOString()),
    ['2024-05-01T00:00:00.000Z', '2024-05-01T00:05:00.000Z'],
  );
  // Non-index variables are not loaded; without inheritance the sweep has no vcp_time coordinate.
  t.is(sweep.dataset.get('DBZH')!.values, undefined);
  const noInherit = await openDatatree(store('nexrad.zarr'), { inheritCoords: false, loadCoords: false });
  t.false(noInherit.get('/VCP-12/sweep_0')!.dataset.coords.has('vcp_time'));
  t.is(noInherit.get('/VCP-12/sweep_0')!.dataset.get('azimuth')!.values, undefined);
});

test('a selection drops indexed dims and keeps ranges, values as xarray', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  const all = flat('DBZH');
  const sel = await dbzh.read({ vcp_time: 1, azimuth: [7, 23], range: [3, 17] });
  t.deepEqual(sel.shape, [16, 14]);
  t.deepEqual(sel.stride, [14, 1]);
  t.is(sel.dtype, 'float64');
  const want: number[] = [];
  for (let a = 7; a < 23; a++) for (let r = 3; r < 17; r++) want.push(num(all[1 * 36 * 20 + a * 20 + r]));
  t.deepEqual(Array.from(sel.data as Float64Array), want);
  const point = await dbzh.read({ vcp_time: 0, azimuth: 5, range: 5 });
  t.deepEqual(point.shape, []);
  t.deepEqual(Array.from(point.data as Float64Array), [num(all[5 * 20 + 5])]);
});

test('strips spanning several chunks, written and missing, read as xarray decoded them', async (t) => {
  // 12 x 10 in 4 x 4 chunks, only (0,0) and (2,1) written, fill NaN. A column strip of whole chunks is
  // decoded straight into the output chunk by chunk; missing chunks and the partial edge strip are filled
  // or copied in beside them.
  const dtypes = loadExpected('dtypes.json');
  const all = (dtypes.nodes['/'].variables.missing_float_nan.values as unknown[]).map(num);
  const v = (await openDataset(store('dtypes.zarr'))).get('missing_float_nan')!;
  for (const [lo, hi] of [
    [0, 4],
    [4, 8],
    [8, 10],
    [0, 10],
  ]) {
    for (const rows of [
      [0, 12],
      [4, 12],
    ]) {
      const sel = await v.read({ my: rows, mx: [lo, hi] });
      t.deepEqual(sel.shape, [rows[1] - rows[0], hi - lo]);
      const want: number[] = [];
      for (let i = rows[0]; i < rows[1]; i++) for (let j = lo; j < hi; j++) want.push(all[i * 10 + j]);
      t.deepEqual(Array.from(sel.data as Float32Array), want, `rows ${rows}, columns ${lo}..${hi}`);
    }
  }
  t.true(all.some((x) => Number.isNaN(x)) && all.some((x) => !Number.isNaN(x)));
});

test('readChunk returns the decoded chunk, trimmed at the edges', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  t.deepEqual(dbzh.chunks, [1, 10, 8]);
  const all = flat('DBZH');
  const edge = await readChunk(dbzh, [1, 3, 2]); // azimuth 30..36, range 16..20
  t.deepEqual(edge.shape, [1, 6, 4]);
  const want: number[] = [];
  for (let a = 30; a < 36; a++) for (let r = 16; r < 20; r++) want.push(num(all[36 * 20 + a * 20 + r]));
  t.deepEqual(Array.from(edge.data as Float64Array), want);
});

test('sharded arrays read by inner chunk', async (t) => {
  const codecs = loadExpected('codecs.json');
  const tree = await openDatatree(store('codecs.zarr'));
  const v = tree.dataset.get('i32_sharding')!;
  const all = codecs.nodes['/'].variables.i32_sharding.values as number[];
  t.deepEqual(v.chunks, codecs.nodes['/'].variables.i32_sharding.encoding.chunks as number[]);
  const [c0, c1] = v.chunks;
  const chunk = await v.readChunk([1, 1]);
  const want: number[] = [];
  for (let i = c0; i < Math.min(2 * c0, v.shape[0]); i++)
    for (let j = c1; j < Math.min(2 * c1, v.shape[1]); j++) want.push(all[i * v.shape[1] + j]);
  t.deepEqual(Array.from(chunk.data as Int32Array), want);
});

test('concurrent reads overlap and agree', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const vars = [...tree.subtree].flatMap((n) => [...n.dataset.dataVars.values()]).filter((v) => v.dims.length > 1);
  const results = await Promise.all(vars.map((v) => v.read()));
  t.is(results.length, vars.length);
  const again = await vars[0].read();
  t.deepEqual(Array.from(again.data as Float64Array), Array.from(results[0].data as Float64Array));
});

test('toString is an xarray-like summary', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'), { groupFilter: '/VCP-12/sweep_0' });
  const text = tree.toString();
  t.regex(text, /Group: \/VCP-12\/sweep_0/);
  t.regex(text, /\* vcp_time\s+\(vcp_time\) datetime64\[ns\]/);
  t.regex(text, /DBZH\s+\(vcp_time, azimuth, range\) float64 2×36×20/);
});

test('toString prints BigInt and non-finite attributes instead of throwing', async (t) => {
  // JSON.stringify threw "Do not know how to serialize a BigInt" here, and printed NaN as null.
  const tree = await openDatatree(store('cf_edge.zarr'));
  const text = tree.toString();
  t.true(text.includes('big: 1152921504606846977'), text);
  t.true(text.includes('valid_min: NaN'), text);
  t.true((await openDataset(store('cf.zarr'))).toString().includes('big_int: 9007199254740993'));
});
