// Bad input: every failure is a RustytreeError with a stable code and the offending path, never a crash.
import test from 'ava';
import { join } from 'node:path';
import { isRustytreeError, openDatatree } from '../index';
import { FIXTURES, store } from './helpers/expected';
import { rejectsWith } from './helpers/reject';

const broken = (name: string) => join(FIXTURES, 'broken', name);

test('a nonexistent path is ERR_NOT_FOUND naming the path', async (t) => {
  await rejectsWith(t, openDatatree('/no/such/store.zarr'), 'ERR_NOT_FOUND', '/no/such/store.zarr');
});

test('a directory that is not Zarr is ERR_NOT_FOUND', async (t) => {
  await rejectsWith(t, openDatatree(broken('not_zarr')), 'ERR_NOT_FOUND', 'zarr.json');
});

test('malformed and truncated zarr.json are ERR_INVALID_METADATA', async (t) => {
  await rejectsWith(t, openDatatree(broken('malformed_json.zarr')), 'ERR_INVALID_METADATA', 'not valid JSON');
  await rejectsWith(t, openDatatree(broken('truncated.zarr')), 'ERR_INVALID_METADATA', 'not valid JSON');
  await rejectsWith(t, openDatatree(broken('bad_node_type.zarr')), 'ERR_INVALID_METADATA', 'banana');
});

test('unknown data types and codecs have their own codes, on read, without blocking the open', async (t) => {
  const dtypeTree = await openDatatree(broken('unknown_dtype.zarr'));
  const [d] = [...dtypeTree.dataset.variables.values()];
  t.is(d.dtype, 'complex_quux');
  await rejectsWith(t, d.read(), 'ERR_UNSUPPORTED_DTYPE', 'complex_quux');
  const tree = await openDatatree(broken('unknown_codec.zarr'));
  const [v] = [...tree.dataset.variables.values()];
  await rejectsWith(t, v.read(), 'ERR_UNSUPPORTED_CODEC', 'no_such_codec');
});

test('corrupt and wrong-size chunks are ERR_DECODE naming the array and chunk', async (t) => {
  for (const name of ['corrupt_chunk.zarr', 'wrong_size_chunk.zarr']) {
    const tree = await openDatatree(broken(name), { loadCoords: false });
    const [v] = [...tree.dataset.variables.values()];
    await rejectsWith(t, v.read(), 'ERR_DECODE', v.path);
  }
});

test('a Zarr v2 store is ERR_UNSUPPORTED_FORMAT saying so', async (t) => {
  await rejectsWith(t, openDatatree(store('v2.zarr')), 'ERR_UNSUPPORTED_FORMAT', 'Zarr v2');
});

test('unsupported sources and bad options are rejected before any I/O', async (t) => {
  await rejectsWith(t, openDatatree('ftp://host/x.zarr'), 'ERR_INVALID_SOURCE', 'ftp');
  await rejectsWith(t, openDatatree(''), 'ERR_INVALID_SOURCE');
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { bogus: 1 } as any), 'ERR_INVALID_ARGUMENT', 'bogus');
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { maxConcurrency: 0 }), 'ERR_INVALID_ARGUMENT');
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { groupFilter: '/a[' }), 'ERR_INVALID_ARGUMENT');
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { group: '/a/../b' }), 'ERR_INVALID_ARGUMENT');
});

test('a missing group is ERR_NOT_FOUND, consolidated or not', async (t) => {
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { group: '/VCP-99' }), 'ERR_NOT_FOUND', '/VCP-99');
  await rejectsWith(t, openDatatree(store('nexrad_unconsolidated.zarr'), { group: '/VCP-99' }), 'ERR_NOT_FOUND', '/VCP-99');
});

test('out-of-range selections and chunk coordinates are ERR_INVALID_SELECTION', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const v = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  await rejectsWith(t, v.read({ azimuth: 36 }), 'ERR_INVALID_SELECTION', 'azimuth');
  await rejectsWith(t, v.read({ azimuth: [5, 37] }), 'ERR_INVALID_SELECTION');
  await rejectsWith(t, v.read({ nope: 1 }), 'ERR_INVALID_SELECTION', 'nope');
  await rejectsWith(t, v.read({ range: 1.5 }), 'ERR_INVALID_SELECTION');
  await rejectsWith(t, v.readChunk([0, 4, 0]), 'ERR_INVALID_SELECTION', 'chunk grid');
  await rejectsWith(t, v.readChunk([0, 0]), 'ERR_INVALID_SELECTION');
});

test('an already-aborted signal rejects with ERR_ABORTED', async (t) => {
  const ac = new AbortController();
  ac.abort();
  await rejectsWith(t, openDatatree(store('nexrad.zarr'), { signal: ac.signal }), 'ERR_ABORTED');
  const tree = await openDatatree(store('nexrad.zarr'));
  const v = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  await rejectsWith(t, v.read({}, { signal: ac.signal }), 'ERR_ABORTED');
});

test('aborting mid-read rejects with ERR_ABORTED and the tree keeps working', async (t) => {
  const tree = await openDatatree(store('codecs.zarr'));
  const v = tree.dataset.get('f32_zstd')!;
  const ac = new AbortController();
  const pending = v.read({}, { signal: ac.signal });
  ac.abort();
  const result = await pending.then(
    () => 'resolved',
    (e) => (isRustytreeError(e, 'ERR_ABORTED') ? 'aborted' : `other: ${e}`),
  );
  // A read this small can finish before the abort lands; either outcome is fine, a hang or crash is not.
  t.true(result === 'aborted' || result === 'resolved', result);
  const again = await v.read();
  t.is(
    again.data.length,
    v.shape.reduce((a, b) => a * b, 1),
  );
});

test('a Rust panic rejects with ERR_INTERNAL and Node keeps running', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('../native.js');
  const { fromNative } = await import('../ts/errors');
  const err = await t.throwsAsync(native._testPanic());
  t.is(fromNative(err).code, 'ERR_INTERNAL');
  const tree = await openDatatree(store('nexrad.zarr'));
  t.is(tree.children.size, 2);
});

test('aborting queued reads rejects them with ERR_ABORTED and leaves no request in flight', async (t) => {
  const tree = await openDatatree(store('codecs.zarr'), { maxConcurrency: 1 });
  const vars = [...tree.dataset.dataVars.values()];
  const ac = new AbortController();
  const reads = vars.map((v) => v.read({}, { signal: ac.signal }));
  ac.abort();
  const settled = await Promise.allSettled(reads);
  const aborted = settled.filter((r) => r.status === 'rejected' && isRustytreeError(r.reason, 'ERR_ABORTED'));
  const fulfilled = settled.filter((r) => r.status === 'fulfilled');
  t.is(aborted.length + fulfilled.length, vars.length, 'every read either finished or was aborted');
  t.true(aborted.length > 0, 'with one request at a time, most of 50+ reads are still queued at the abort');
  for (let i = 0; i < 100 && tree.stats().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(tree.stats().inFlight, 0);
});

test('a tiny read of a huge missing chunk fills only the selection', async (t) => {
  const tree = await openDatatree(broken('huge_chunk.zarr'));
  const v = tree.dataset.get('a')!;
  const got = await v.read({ x: [5, 7] });
  t.deepEqual(Array.from(got.data as Int32Array), [7, 7]);
  // The whole array would not fit in memory, nor in one typed array: a clear error naming its size and
  // the limit, not an abort.
  const err = await rejectsWith(t, v.read(), 'ERR_INVALID_SELECTION', '17592186044416 bytes');
  t.true(err.message.includes('4294967296'), err.message);
});

test('an index coordinate that cannot be loaded leaves the open standing, with a warning', async (t) => {
  const tree = await openDatatree(broken('complex_coord.zarr'));
  const k = tree.dataset.get('k')!;
  t.is(k.values, undefined);
  t.true(
    tree.warnings.some((w) => w.includes('/k') && w.includes('ERR_UNSUPPORTED_DTYPE')),
    tree.warnings.join('\n'),
  );
  t.deepEqual(Array.from((await tree.dataset.get('v')!.read()).data as Int32Array), [3, 3, 3, 3]);
  await rejectsWith(t, k.read(), 'ERR_UNSUPPORTED_DTYPE', '/k');
});

test('CF attributes that cannot be applied fail only that variable, on read', async (t) => {
  const tree = await openDatatree(broken('bad_cf.zarr'));
  const bad = tree.dataset.get('bad')!;
  t.is(bad.dtype, 'int32');
  t.is(bad.attrs.scale_factor, '0.5');
  await rejectsWith(t, bad.read(), 'ERR_CF_DECODE', 'scale_factor');
  t.deepEqual(Array.from((await tree.dataset.get('good')!.read()).data as Int32Array), [2, 2, 2, 2]);
  // The open says so up front (it used to stay silent until the read).
  t.is(tree.warnings.length, 1, tree.warnings.join('\n'));
  t.regex(tree.warnings[0], /\/bad.*scale_factor.*ERR_CF_DECODE/);
});

test('icechunk-only options on a plain Zarr store are ERR_INVALID_ARGUMENT, like version selectors', async (t) => {
  // virtualChunkContainers used to be accepted silently on a plain store.
  await rejectsWith(
    t,
    openDatatree(store('nexrad.zarr'), { virtualChunkContainers: ['s3://bucket/'] }),
    'ERR_INVALID_ARGUMENT',
    'virtualChunkContainers',
  );
  await rejectsWith(
    t,
    openDatatree(store('nexrad.zarr'), { icechunkCaching: { chunkBytes: 1 << 20 } }),
    'ERR_INVALID_ARGUMENT',
    'icechunkCaching',
  );
  t.truthy(await openDatatree(store('nexrad.zarr'), { virtualChunkContainers: [] }));
});
