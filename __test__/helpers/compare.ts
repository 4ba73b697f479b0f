// The comparison every fixture goes through: structure, dims, inherited coordinates, dtypes, attrs and
// every value of a source opened by rustytree against what xarray decoded (fixtures/expected/*.json).
import type { ExecutionContext } from 'ava';
import { isRustytreeError, openDatatree, type DataTree, type OpenOptions } from '../../index';
import { attrsJsonForm, expectedValues, jsonValues, loadExpected } from './expected';

// Codecs zarr-python can write that rustytree cannot decode: reads of these arrays would reject with
// ERR_UNSUPPORTED_CODEC while the rest of the store opens (none left for the fixtures; the broken
// `unknown_codec.zarr` store covers the error path).
// Data types with no JavaScript counterpart: listed with their Zarr name, reads reject with
// ERR_UNSUPPORTED_DTYPE.
export const UNSUPPORTED_DTYPES: Record<string, string[]> = {
  'extensions.json': ['complex128', 'complex64'],
};

export const UNSUPPORTED: Record<string, string[]> = {
  'codecs.json': [],
};

// rustytree hands out every datetime/timedelta at nanosecond resolution (the fixture values are in ns too).
const asNs = (dtype: string) => dtype.replace(/^(datetime64|timedelta64)\[\w+\]$/, '$1[ns]');

/** Opens `source` with `options` and checks it against `expectedName` value by value. */
export async function checkAgainstXarray(t: ExecutionContext, expectedName: string, source: string, options: OpenOptions): Promise<void> {
  const expected = loadExpected(expectedName);
  const tree = await openDatatree(source, options);
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
      const where = path === '/' ? `/${name}` : `${path}/${name}`;
      t.deepEqual(v.dims, ev.dims, `${where} dims`);
      t.deepEqual(v.shape, ev.shape, `${where} shape`);
      t.is(dt.dataset.coords.has(name), ev.is_coord, `${where} is_coord`);
      if (ev.cftime) {
        // Non-standard calendars stay encoded numbers, with a warning naming the variable.
        t.true(
          dt.warnings.some((w) => w.includes(name)),
          `${where} warning`,
        );
        continue;
      }
      let variable = v;
      if (ev.reader === 'zarr-python') {
        // xarray could not open this variable; the fixture holds zarr-python's raw view of it.
        rawTree ??= await openDatatree(source, { ...options, decodeCf: false });
        variable = rawTree.get(path)!.dataset.get(name)!;
      }
      if ((UNSUPPORTED_DTYPES[expectedName] ?? []).includes(name)) {
        t.is(variable.dtype, name, `${where} keeps its Zarr data type name`);
        const err = await t.throwsAsync(variable.read());
        t.true(isRustytreeError(err, 'ERR_UNSUPPORTED_DTYPE') && err.message.includes(where), String(err));
        unsupportedDtypes.push(name);
        continue;
      }
      t.is(variable.dtype, asNs(ev.dtype), `${where} dtype`);
      t.deepEqual(attrsJsonForm(variable.attrs), ev.attrs, `${where} attrs`);
      let got;
      try {
        got = await variable.read();
      } catch (e) {
        if (!isRustytreeError(e, 'ERR_UNSUPPORTED_CODEC')) throw e;
        t.true(e.message.includes(where), `${where}: the error names the array`);
        unsupported.push(name);
        continue;
      }
      t.deepEqual(got.shape, ev.shape, `${where} read shape`);
      t.deepEqual(jsonValues(got, v.dtype), expectedValues(ev, v.dtype), `${where} values`);
    }
  }
  t.deepEqual(unsupported.sort(), UNSUPPORTED[expectedName] ?? [], 'arrays with unsupported codecs');
  t.deepEqual(unsupportedDtypes.sort(), UNSUPPORTED_DTYPES[expectedName] ?? [], 'arrays with unsupported dtypes');
}
