// Every fixture store, opened by rustytree, must match what xarray decodes from it: structure, dims,
// dtypes, attrs and every value.
import test from 'ava';
import { isRustytreeError, openDatatree, type DataTree, type OpenOptions } from '../index';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, attrsJsonForm, loadExpected, normalizeExpected, store, toJsonForm } from './helpers/expected';

// Codecs zarr-python can write that rustytree cannot decode: reads of these arrays would reject with
// ERR_UNSUPPORTED_CODEC while the rest of the store opens (none left for the fixtures; the broken
// `unknown_codec.zarr` store covers the error path).
// Data types with no JavaScript counterpart: listed with their Zarr name, reads reject with
// ERR_UNSUPPORTED_DTYPE.
const UNSUPPORTED_DTYPES: Record<string, string[]> = {
  'extensions.json': ['complex128', 'complex64'],
};

const UNSUPPORTED: Record<string, string[]> = {
  'codecs.json': [],
};

const cases: [expected: string, storeName: string, options: OpenOptions][] = [
  ['nexrad.json', 'nexrad.zarr', {}],
  ['nexrad_unconsolidated.json', 'nexrad_unconsolidated.zarr', {}],
  ['nexrad.raw.json', 'nexrad.zarr', { decodeCf: false }],
  ['cf.json', 'cf.zarr', {}],
  ['cf.raw.json', 'cf.zarr', { decodeCf: false }],
  ['cf.nomask.json', 'cf.zarr', { maskAndScale: false }],
  ['cf.notimes.json', 'cf.zarr', { decodeTimes: false }],
  ['cf_plain.json', 'cf_plain.zarr', {}],
  ['dtypes.json', 'dtypes.zarr', {}],
  ['codecs.json', 'codecs.zarr', {}],
  ['extensions.json', 'extensions.zarr', {}],
  ['names.json', 'names.zarr', {}],
  ['names_unconsolidated.json', 'names_unconsolidated.zarr', {}],
  ['cf_edge.json', 'cf_edge.zarr', {}],
  // icechunk repositories written by icechunk-python 2.3.0, one case per version selector.
  ['icechunk_radar.main.json', '../icechunk/radar.icechunk', {}],
  ['icechunk_radar.dev.json', '../icechunk/radar.icechunk', { branch: 'dev' }],
  ['icechunk_radar.tag-v1.json', '../icechunk/radar.icechunk', { tag: 'v1' }],
  ...snapshotCases(),
  ['icechunk_radar_v1.main.json', '../icechunk/radar_v1.icechunk', {}],
  ['icechunk_small.main.json', '../icechunk/small.icechunk', {}],
];

/** One case per `icechunk_radar.snapshot-<id>.json`: the id comes from the file name. */
function snapshotCases(): [string, string, OpenOptions][] {
  return readdirSync(join(FIXTURES, 'expected'))
    .filter((f) => f.startsWith('icechunk_radar.snapshot-'))
    .map((f) => [f, '../icechunk/radar.icechunk', { snapshotId: f.slice('icechunk_radar.snapshot-'.length, -'.json'.length) }]);
}

// rustytree hands out every datetime/timedelta at nanosecond resolution (the fixture values are in ns too).
const asNs = (dtype: string) => dtype.replace(/^(datetime64|timedelta64)\[\w+\]$/, '$1[ns]');

for (const [expectedName, storeName, options] of cases) {
  test(`${expectedName}: rustytree decodes ${storeName} as xarray does`, async (t) => {
    const expected = loadExpected(expectedName);
    const tree = await openDatatree(store(storeName), options);
    let rawTree: DataTree | undefined;
    const unsupported: string[] = [];
    const unsupportedDtypes: string[] = [];
    t.deepEqual([...tree.subtree].map((n) => n.path).sort(), Object.keys(expected.nodes).sort());
    for (const [path, node] of Object.entries(expected.nodes)) {
      const dt = tree.get(path);
      if (!dt) {
        t.fail(`missing node ${path}`);
        continue;
      }
      t.deepEqual(attrsJsonForm(dt.attrs), node.attrs, `${path} attrs`);
      t.deepEqual(dt.dataset.dims, node.dims, `${path} dims`);
      const inherited = [...dt.dataset.coords.keys()].filter((k) => !(k in node.variables));
      t.deepEqual(inherited.sort(), [...(node.inherited_coords ?? [])].sort(), `${path} inherited coordinates`);
      for (const [name, ev] of Object.entries(node.variables)) {
        const v = dt.dataset.get(name);
        if (!v) {
          t.fail(`missing variable ${path}/${name}`);
          continue;
        }
        const where = path === "/" ? `/${name}` : `${path}/${name}`;
        t.deepEqual(v.dims, ev.dims, `${where} dims`);
        t.deepEqual(v.shape, ev.shape, `${where} shape`);
        t.is(dt.dataset.coords.has(name), ev.is_coord, `${where} is_coord`);
        if (ev.cftime) {
          // Non-standard calendars stay encoded numbers, with a warning naming the variable.
          t.true(dt.warnings.some((w) => w.includes(name)), `${where} warning`);
          continue;
        }
        let source = v;
        if (ev.reader === 'zarr-python') {
          // xarray could not open this variable; the fixture holds zarr-python's raw view of it.
          rawTree ??= await openDatatree(store(storeName), { ...options, decodeCf: false });
          source = rawTree.get(path)!.dataset.get(name)!;
        }
        if ((UNSUPPORTED_DTYPES[expectedName] ?? []).includes(name)) {
          t.is(source.dtype, name, `${where} keeps its Zarr data type name`);
          const err = await t.throwsAsync(source.read());
          t.true(isRustytreeError(err, 'ERR_UNSUPPORTED_DTYPE') && err.message.includes(where), String(err));
          unsupportedDtypes.push(name);
          continue;
        }
        t.is(source.dtype, asNs(ev.dtype), `${where} dtype`);
        t.deepEqual(attrsJsonForm(source.attrs), ev.attrs, `${where} attrs`);
        let got;
        try {
          got = await source.read();
        } catch (e) {
          if (!isRustytreeError(e, 'ERR_UNSUPPORTED_CODEC')) throw e;
          t.true(e.message.includes(where), `${where}: the error names the array`);
          unsupported.push(name);
          continue;
        }
        t.deepEqual(got.shape, ev.shape, `${where} read shape`);
        const values = Array.from({ length: got.data.length }, (_, i) => toJsonForm(got.data, i, v.dtype));
        t.deepEqual(values, (ev.values ?? []).map((x) => normalizeExpected(x, v.dtype)), `${where} values`);
      }
    }
    t.deepEqual(unsupported.sort(), UNSUPPORTED[expectedName] ?? [], 'arrays with unsupported codecs');
    t.deepEqual(unsupportedDtypes.sort(), UNSUPPORTED_DTYPES[expectedName] ?? [], 'arrays with unsupported dtypes');
  });
}
