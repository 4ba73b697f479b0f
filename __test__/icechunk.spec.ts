// icechunk repositories: version selection, detection, request counts and errors. Values per version are
// cross-checked against xarray in xarray.spec.ts.
import test from 'ava';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRustytreeError, openDataset, openDatatree } from '../index';
import { FIXTURES } from './helpers/expected';
import { rejectsWith } from './helpers/reject';

const repo = (name: string) => join(FIXTURES, 'icechunk', name);
const radar = repo('radar.icechunk');
const versions = JSON.parse(readFileSync(`${radar}.versions.json`, 'utf8')) as {
  branches: Record<string, string>;
  tags: Record<string, string>;
  versions: Record<string, { snapshot_id: string; timestamp: string; message: string }>;
};
const byMessage = (m: string) => Object.values(versions.versions).find((v) => v.message === m)!;

test('a repository is detected and opened at the tip of main', async (t) => {
  const tree = await openDatatree(radar);
  t.is(tree.snapshotId, versions.branches.main);
  t.deepEqual([...tree.children.keys()], ['VCP-12', 'VCP-212']);
});

test('branch, tag and snapshotId select versions', async (t) => {
  t.is((await openDatatree(radar, { branch: 'dev' })).snapshotId, versions.branches.dev);
  t.is((await openDatatree(radar, { tag: 'v1' })).snapshotId, versions.tags.v1);
  const first = byMessage('initial');
  const tree = await openDatatree(radar, { snapshotId: first.snapshot_id });
  t.is(tree.snapshotId, first.snapshot_id);
  t.deepEqual([...tree.children.keys()], ['VCP-12']);
});

test('asOf picks the branch state at that time', async (t) => {
  const second = byMessage('add VCP-212');
  const first = byMessage('initial');
  // The recorded timestamps have microseconds; a string keeps them, a Date rounds to milliseconds.
  t.is((await openDatatree(radar, { asOf: second.timestamp })).snapshotId, second.snapshot_id);
  const after = new Date(new Date(second.timestamp).getTime() + 1);
  t.is((await openDatatree(radar, { asOf: after })).snapshotId, second.snapshot_id);
  // Just before the second commit, main was at the first one.
  const before = new Date(new Date(second.timestamp).getTime() - 1);
  t.is((await openDatatree(radar, { asOf: before })).snapshotId, first.snapshot_id);
  t.is((await openDatatree(radar, { asOf: second.timestamp, branch: 'main' })).snapshotId, second.snapshot_id);
  await rejectsWith(t, openDatatree(radar, { asOf: new Date('2000-01-01T00:00:00Z') }), 'ERR_NOT_FOUND', 'main');
});

test('a branch open costs 2 requests: the repo file, then the snapshot', async (t) => {
  const tree = await openDatatree(radar, { loadCoords: false });
  t.like(tree.stats(), { requests: 2, gets: 2, lists: 0 });
  const ds = await openDataset(radar, { loadCoords: false, group: '/VCP-12/sweep_0', tag: 'v1' });
  t.like(ds.stats(), { requests: 2 });
});

test('index coordinates come from the manifests with no chunk requests when they are inline', async (t) => {
  const tree = await openDatatree(radar);
  const coordArrays = [...tree.subtree]
    .flatMap((n) => [...n.dataset.coords.values()])
    .filter((v, i, all) => all.indexOf(v) === i && v.dims.length === 1 && v.dims[0] === v.name);
  // One manifest per coordinate array; every coordinate chunk is inline in this repository.
  t.is(tree.stats().requests, 2 + coordArrays.length);
  t.true(coordArrays.every((v) => v.values !== undefined));
});

test('conflicting or unknown selectors are clear errors', async (t) => {
  await rejectsWith(t, openDatatree(radar, { branch: 'dev', tag: 'v1' }), 'ERR_INVALID_ARGUMENT', 'at most one');
  await rejectsWith(t, openDatatree(radar, { tag: 'v1', snapshotId: versions.tags.v1 }), 'ERR_INVALID_ARGUMENT');
  await rejectsWith(t, openDatatree(radar, { branch: 'nope' }), 'ERR_NOT_FOUND', 'nope');
  await rejectsWith(t, openDatatree(radar, { tag: 'v9' }), 'ERR_NOT_FOUND', 'v9');
  await rejectsWith(t, openDatatree(radar, { snapshotId: 'AAAAAAAAAAAAAAAAAAAA' }), 'ERR_NOT_FOUND', 'AAAAAAAAAAAAAAAAAAAA');
  await rejectsWith(t, openDatatree(radar, { snapshotId: 'not-an-id' }), 'ERR_INVALID_ARGUMENT', 'not-an-id');
  await rejectsWith(t, openDatatree(radar, { asOf: 'yesterday' }), 'ERR_INVALID_ARGUMENT', 'yesterday');
  await rejectsWith(t, openDatatree(repo('radar_v1.icechunk'), { branch: 'nope' }), 'ERR_NOT_FOUND', 'nope');
});

test('selectors on a plain Zarr store and a forced engine', async (t) => {
  const zarr = join(FIXTURES, 'stores', 'nexrad.zarr');
  await rejectsWith(t, openDatatree(zarr, { branch: 'main' }), 'ERR_INVALID_ARGUMENT', 'icechunk');
  await rejectsWith(t, openDatatree(zarr, { engine: 'icechunk' }), 'ERR_NOT_FOUND', 'icechunk');
  // Forcing zarr on a repository reads its directory as a (non-Zarr) store.
  await rejectsWith(t, openDatatree(radar, { engine: 'zarr' }), 'ERR_NOT_FOUND', 'zarr.json');
  await rejectsWith(t, openDatatree(radar, { engine: 'netcdf' as any }), 'ERR_INVALID_ARGUMENT', 'engine');
});

test('an empty repository and a directory that is not one are ERR_NOT_FOUND', async (t) => {
  await rejectsWith(t, openDatatree(repo('empty.icechunk')), 'ERR_NOT_FOUND', 'no group');
  await rejectsWith(t, openDatatree(repo('not_a_repo.icechunk'), { engine: 'icechunk' }), 'ERR_NOT_FOUND');
});

test('missing chunks of an icechunk array read as the fill value', async (t) => {
  const tree = await openDatatree(repo('small.icechunk'));
  const v = tree.dataset.get('values')!;
  const chunk = await v.readChunk([2]);
  t.true(Array.from(chunk.data as Int32Array).every((x) => x === -1));
});

test.serial('virtual chunks: read from authorised containers only, with a coded error naming the container', async (t) => {
  // The repository's local container points at a fixed absolute prefix (container prefixes are URLs).
  const target = '/tmp/rustytree-virtual-fixture';
  mkdirSync(target, { recursive: true });
  copyFileSync(join(FIXTURES, 'icechunk', 'virtual-data', 'data.bin'), join(target, 'data.bin'));
  const source = repo('virtual.icechunk');
  const locked = await openDatatree(source);
  t.deepEqual([...locked.dataset.variables.keys()].sort(), ['pressure', 'temp']);
  for (const name of ['pressure', 'temp']) {
    const err = await t.throwsAsync(locked.dataset.get(name)!.read());
    t.true(isRustytreeError(err, 'ERR_PERMISSION_DENIED'), `${err?.message}`);
    t.regex(err!.message, name === 'pressure' ? /file:\/\/\/tmp\/rustytree-virtual-fixture\// : /s3:\/\/rustytree-virtual\//);
  }
  const open = await openDatatree(source, { virtualChunkContainers: ['file:///tmp/rustytree-virtual-fixture/'] });
  const pressure = await open.dataset.get('pressure')!.read();
  t.deepEqual(Array.from(pressure.data as Float32Array), [1000.5, 990.25, 985.0, 970.75, 960.5, 950.0]);
  await rejectsWith(t, openDatatree(source, { virtualChunkContainers: ['s3://elsewhere/'] }), 'ERR_INVALID_ARGUMENT', 's3://elsewhere/');
  await rejectsWith(t, openDatatree(source, { virtualChunkContainers: 's3://x/' as any }), 'ERR_INVALID_ARGUMENT');
});

test('virtualChunkContainers entries are checked: S3 credentials only for S3 containers, both keys together', async (t) => {
  const source = repo('virtual.icechunk');
  const s3 = 's3://rustytree-virtual/';
  await rejectsWith(
    t,
    openDatatree(source, {
      virtualChunkContainers: [{ prefix: 'file:///tmp/rustytree-virtual-fixture/', accessKeyId: 'a', secretAccessKey: 'b' }],
    }),
    'ERR_INVALID_ARGUMENT',
    'not an S3 container',
  );
  await rejectsWith(
    t,
    openDatatree(source, { virtualChunkContainers: [{ prefix: s3, accessKeyId: 'a' }] }),
    'ERR_INVALID_ARGUMENT',
    'secretAccessKey',
  );
  await rejectsWith(
    t,
    openDatatree(source, { virtualChunkContainers: [{ prefix: s3, anonymous: true, accessKeyId: 'a', secretAccessKey: 'b' }] }),
    'ERR_INVALID_ARGUMENT',
    'anonymous',
  );
  await rejectsWith(
    t,
    openDatatree(source, { virtualChunkContainers: [{ prefix: s3, bucket: 'x' } as any] }),
    'ERR_INVALID_ARGUMENT',
    'bucket',
  );
  await rejectsWith(
    t,
    openDatatree(source, {
      virtualChunkContainers: [{ prefix: 'file:///tmp/rustytree-virtual-fixture/', endpoint: 'http://127.0.0.1:1' }],
    }),
    'ERR_INVALID_ARGUMENT',
    'not an S3 container',
  );
  // Authorising with keys opens (the S3 chunks themselves are not fetched: only loopback is reachable here).
  const tree = await openDatatree(source, {
    virtualChunkContainers: [{ prefix: s3, accessKeyId: 'AKIA-virtual', secretAccessKey: 'virtual-secret-123' }],
  });
  t.deepEqual(tree.dataset.get('temp')!.shape, [4]);
});

test('icechunkCaching: with a chunk-bytes cache a repeated read costs no request', async (t) => {
  const small = repo('small.icechunk');
  const requestsFor = async (caching?: { chunkBytes: number }) => {
    const tree = await openDatatree(small, { loadCoords: false, icechunkCaching: caching });
    const values = tree.dataset.get('values')!;
    const first = await values.readChunk([3]);
    const before = tree.stats().requests;
    const second = await values.readChunk([3]);
    t.deepEqual(Array.from(second.data as Int32Array), Array.from(first.data as Int32Array));
    return tree.stats().requests - before;
  };
  t.is(await requestsFor(), 1, 'without a chunk cache the chunk object is fetched again');
  t.is(await requestsFor({ chunkBytes: 1 << 20 }), 0, 'with one it is served from memory');
  await rejectsWith(t, openDatatree(small, { icechunkCaching: { chunkBytes: -1 } }), 'ERR_INVALID_ARGUMENT', 'chunkBytes');
  await rejectsWith(t, openDatatree(small, { icechunkCaching: { chunks: 1 } as any }), 'ERR_INVALID_ARGUMENT', 'chunks');
});
