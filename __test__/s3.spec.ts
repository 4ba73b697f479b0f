// s3:// sources against a real MinIO server on 127.0.0.1 (SigV4 checked, bucket policies enforced):
// every fixture decodes as xarray does, anonymous public reads, credentials from options, the environment
// and a shared profile file, clear errors for wrong keys and missing buckets or objects, retries through a
// proxy that answers 503, timeouts and cancellation.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRustytreeError, openDatatree, type StorageOptions } from '../index';
import { FIXTURE_CASES, fixtureKey } from './helpers/cases';
import { checkAgainstXarray } from './helpers/compare';
import { FIXTURES, expectedValues, jsonValues, loadExpected, nodesBelowRoot } from './helpers/expected';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { startMinio, type MinioServer } from './helpers/servers';
import { rejectsWith } from './helpers/reject';

let minio: MinioServer;
let proxy: FaultProxy;

const keys = (): StorageOptions => ({
  endpoint: minio.endpoint,
  allowHttp: true,
  region: 'us-east-1',
  accessKeyId: minio.accessKeyId,
  secretAccessKey: minio.secretAccessKey,
});
const anonymous = (): StorageOptions => ({ endpoint: minio.endpoint, allowHttp: true, region: 'us-east-1', anonymous: true });

test.before(async () => {
  minio = await startMinio();
  await minio.upload('fixtures', join(FIXTURES, 'stores'), 'stores/');
  await minio.upload('fixtures', join(FIXTURES, 'icechunk'), 'icechunk/');
  // Anyone may read and list `public`; anyone may read but not list `getonly`.
  for (const bucket of ['public', 'getonly']) {
    await minio.upload(bucket, join(FIXTURES, 'stores', 'cf.zarr'), 'stores/cf.zarr/');
    // dtypes.zarr has chunks that were never written (all fill value).
    await minio.upload(bucket, join(FIXTURES, 'stores', 'dtypes.zarr'), 'stores/dtypes.zarr/');
    await minio.upload(bucket, join(FIXTURES, 'stores', 'nexrad_unconsolidated.zarr'), 'stores/nexrad_unconsolidated.zarr/');
    await minio.upload(bucket, join(FIXTURES, 'icechunk', 'radar.icechunk'), 'icechunk/radar.icechunk/');
  }
  // For the 403-means-missing rule below: anyone may read and list `denychunk` but one chunk that exists;
  // anyone may read `nolist` but not list it, and a policy refuses its never-written chunks (as S3 does
  // to such a reader) and one chunk that exists.
  for (const bucket of ['denychunk', 'nolist']) await minio.upload(bucket, join(FIXTURES, 'stores', 'dtypes.zarr'), 'stores/dtypes.zarr/');
  await minio.upload('rustytree-virtual', join(FIXTURES, 'icechunk', 'virtual-data'));
  await minio.allowAnonymousRead('public', true);
  await minio.allowAnonymousRead('getonly', false);
  await minio.allowAnonymousRead('denychunk', true, [WRITTEN]);
  await minio.allowAnonymousRead('nolist', false, [...NEVER_WRITTEN, 'stores/dtypes.zarr/int8/c/0']);
  proxy = await startFaultProxy(minio.endpoint);
});

test.after.always(async () => {
  await proxy?.close();
  await minio?.stop();
});

for (const [expectedName, storeName, options] of FIXTURE_CASES) {
  test(`S3: ${expectedName} decodes as xarray does`, (t) =>
    checkAgainstXarray(t, expectedName, `s3://fixtures/${fixtureKey(storeName)}`, { ...options, storageOptions: keys() }));
}

test('S3: a consolidated open is one round trip, an icechunk branch open two', async (t) => {
  const zarr = await openDatatree('s3://fixtures/stores/nexrad.zarr', { loadCoords: false, engine: 'zarr', storageOptions: keys() });
  t.like(zarr.stats(), { requests: 1, gets: 1 });
  const repo = await openDatatree('s3://fixtures/icechunk/radar.icechunk', { loadCoords: false, storageOptions: keys() });
  // zarr.json and repo together (one round trip), then the snapshot.
  t.like(repo.stats(), { requests: 3, gets: 3, lists: 0 });
});

test('S3: an unconsolidated store that fits one page of a listing is listed at its root only', async (t) => {
  const tree = await openDatatree('s3://fixtures/stores/nexrad_unconsolidated.zarr', { loadCoords: false, storageOptions: keys() });
  // With and without a delimiter; the recursive listing names every node, each read once (plus the
  // format probe's `repo`).
  t.like(tree.stats(), { lists: 2, gets: 2 + nodesBelowRoot('nexrad_unconsolidated.zarr') });
});

test('S3: anonymous reads of a public bucket', async (t) => {
  await checkAgainstXarray(t, 'cf.json', 's3://public/stores/cf.zarr', { storageOptions: anonymous() });
  await checkAgainstXarray(t, 'nexrad_unconsolidated.json', 's3://public/stores/nexrad_unconsolidated.zarr', {
    storageOptions: anonymous(),
  });
  await checkAgainstXarray(t, 'icechunk_radar.main.json', 's3://public/icechunk/radar.icechunk', { storageOptions: anonymous() });
});

test('S3: without list permission, missing keys read as missing and a walk is refused', async (t) => {
  // The repo probe of a Zarr store and the zarr.json probe of a repository are missing keys (MinIO answers
  // them 404 where GetObject is allowed; S3 would answer 403: the tests of the chunk rule below use
  // MinIO's own 403s).
  await checkAgainstXarray(t, 'cf.json', 's3://getonly/stores/cf.zarr', { storageOptions: anonymous() });
  // Chunks never written read as the fill value, as xarray reads them.
  await checkAgainstXarray(t, 'dtypes.json', 's3://getonly/stores/dtypes.zarr', { storageOptions: anonymous() });
  await checkAgainstXarray(t, 'icechunk_radar.main.json', 's3://getonly/icechunk/radar.icechunk', { storageOptions: anonymous() });
  // A walk needs listings, which the policy refuses: a clear error, not an empty tree.
  await rejectsWith(
    t,
    openDatatree('s3://getonly/stores/nexrad_unconsolidated.zarr', { storageOptions: anonymous() }),
    'ERR_PERMISSION_DENIED',
  );
});

// The 403-means-missing rule of chunk reads (source/object.rs, ObjectStoreAdapter::for_chunks), branch by
// branch, on MinIO's own 403 answers. `missing_int` (12 × 10 in 4 × 4 chunks) has chunks (0, 0) and (2, 1)
// written; the other seven were never written (fill value -999). Where GetObject is allowed, MinIO answers
// 404 for a missing key with or without list permission (AWS S3 answers 403 without it); where a policy
// denies GetObject, it answers 403 AccessDenied, and for a missing key 404 only to a reader that may list,
// as S3 does. So a bucket policy that denies the never-written keys to a reader that may not list gives
// exactly S3's answers to such a reader. A logging proxy of the test's own counts the LIST the rule asks.
const MISSING_INT = 'stores/dtypes.zarr/missing_int/c';
const NEVER_WRITTEN = ['0/1', '0/2', '1/0', '1/1', '1/2', '2/0', '2/2'].map((c) => `${MISSING_INT}/${c}`);
const WRITTEN = `${MISSING_INT}/0/0`;
const LIST = /list-type=2/;

/** dtypes.zarr in `bucket`, opened through a fresh logging proxy in front of MinIO. */
async function dtypesThroughProxy(bucket: string, storageOptions: StorageOptions) {
  const logged = await startFaultProxy(minio.endpoint);
  const tree = await openDatatree(`s3://${bucket}/stores/dtypes.zarr`, { storageOptions: { ...storageOptions, endpoint: logged.url } });
  const lists = () => logged.log.filter((l) => LIST.test(l));
  return { proxy: logged, lists, missingInt: tree.dataset.get('missing_int')!, int8: tree.dataset.get('int8')! };
}

test('S3: 403 AccessDenied for never-written chunks, without list permission: the fill value, after one LIST', async (t) => {
  const { proxy: logged, lists, missingInt } = await dtypesThroughProxy('nolist', anonymous());
  try {
    const all = await missingInt.read();
    t.deepEqual(
      jsonValues(all, missingInt.dtype),
      expectedValues(loadExpected('dtypes.json').nodes['/'].variables.missing_int, missingInt.dtype),
    );
    // Seven refusals, one question whether this reader may list (refused too), remembered for the rest.
    t.is(lists().length, 1, logged.log.join('\n'));
    t.regex(lists()[0], /prefix=stores%2Fdtypes\.zarr%2Fmissing_int%2Fc%2F/);
  } finally {
    await logged.close();
  }
});

test('S3: 403 AccessDenied for a chunk that exists, without list permission, cannot be told from a missing one', async (t) => {
  // The rule's known limit, kept on purpose: S3 gives such a reader the same answer for both, and a
  // never-written chunk is normal, so the denied chunk (0) of int8 reads as the fill value, 0.
  const { proxy: logged, int8 } = await dtypesThroughProxy('nolist', anonymous());
  try {
    t.deepEqual(Array.from((await int8.read()).data), [0, 0, 0, 0, 42, 127]);
  } finally {
    await logged.close();
  }
});

test('S3: 403 AccessDenied for a chunk that exists, with list permission: ERR_PERMISSION_DENIED after one LIST', async (t) => {
  const { proxy: logged, lists, missingInt } = await dtypesThroughProxy('denychunk', anonymous());
  try {
    // A reader that may list gets 404 for a missing key, denied or not: chunk (1, 1) is the fill value,
    // and no LIST is asked.
    const missing = await missingInt.read({ my: [4, 8], mx: [4, 8] });
    t.deepEqual(Array.from(missing.data), Array(16).fill(-999));
    t.is(lists().length, 0, logged.log.join('\n'));
    // So its 403 for chunk (0, 0) is a real denial: one LIST says that it may list, and the read fails.
    await rejectsWith(t, missingInt.read({ my: [0, 4], mx: [0, 4] }), 'ERR_PERMISSION_DENIED', 'missing_int');
    t.is(lists().length, 1, logged.log.join('\n'));
  } finally {
    await logged.close();
  }
});

test('S3: a 403 that is a signature failure is ERR_PERMISSION_DENIED, never a missing chunk, and asks no LIST', async (t) => {
  const { proxy: logged, lists, missingInt } = await dtypesThroughProxy('fixtures', keys());
  try {
    // From here on every chunk request and listing is signed wrongly, as with a secret that stopped
    // working. Had the adapter asked whether it may list, the refused LIST would have said "no", and the
    // never-written chunk (1, 1) would have read as the fill value.
    logged.inject({ kind: 'badSignature', times: 1000, match: /missing_int\/c\/|list-type=2/ });
    const err = await rejectsWith(t, missingInt.read({ my: [4, 8], mx: [4, 8] }), 'ERR_PERMISSION_DENIED', 'missing_int');
    t.regex(err.message, /SignatureDoesNotMatch/);
    t.true(
      logged.faulted.some((f) => f.includes('missing_int/c/1/1')),
      logged.faulted.join('\n'),
    );
    t.is(lists().length, 0, logged.log.join('\n'));
  } finally {
    await logged.close();
  }
});

test('S3: anonymous requests to a private bucket are refused clearly', async (t) => {
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: anonymous() }), 'ERR_PERMISSION_DENIED', 'zarr.json');
});

test('S3: a wrong secret is ERR_PERMISSION_DENIED and never shows the secret', async (t) => {
  const secret = 'WRONG-secret-Zq8xV3pL0';
  const err = await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), secretAccessKey: secret } }),
    'ERR_PERMISSION_DENIED',
  );
  for (const text of [err.message, String(err), err.stack ?? '', JSON.stringify(err), String((err as any).cause?.message)]) {
    t.false(text.includes(secret), text);
    t.false(text.includes(minio.secretAccessKey), text);
  }
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), accessKeyId: 'NOSUCHKEY' } }),
    'ERR_PERMISSION_DENIED',
  );
});

test('S3: a missing bucket or object is ERR_NOT_FOUND', async (t) => {
  await rejectsWith(t, openDatatree('s3://no-such-bucket/stores/cf.zarr', { storageOptions: keys() }), 'ERR_NOT_FOUND');
  await rejectsWith(t, openDatatree('s3://fixtures/stores/no_such.zarr', { storageOptions: keys() }), 'ERR_NOT_FOUND');
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/icechunk/radar.icechunk', { storageOptions: keys(), branch: 'nope' }),
    'ERR_NOT_FOUND',
    'nope',
  );
});

test('S3: storage options are checked by name and type', async (t) => {
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), secretKey: 'x' } as any }),
    'ERR_INVALID_ARGUMENT',
    'secretKey',
  );
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), accountKey: 'x' } }),
    'ERR_INVALID_ARGUMENT',
    'accountKey',
  );
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), timeout: -1 } }),
    'ERR_INVALID_ARGUMENT',
    'timeout',
  );
  await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { region: {} } as any }),
    'ERR_INVALID_ARGUMENT',
    'region',
  );
  await rejectsWith(t, openDatatree(join(FIXTURES, 'stores', 'cf.zarr'), { storageOptions: keys() }), 'ERR_INVALID_ARGUMENT', 'local');
});

test.serial('S3: credentials from the environment and from a shared profile file', async (t) => {
  const saved = { ...process.env };
  const home = mkdtempSync(join(tmpdir(), 'rustytree-aws-'));
  try {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT: minio.endpoint,
      AWS_ALLOW_HTTP: 'true',
    });
    const fromEnv = await openDatatree('s3://fixtures/stores/cf.zarr', { loadCoords: false });
    t.true([...fromEnv.subtree].length > 0);
    // A wrong secret from the environment stays out of messages too.
    process.env.AWS_SECRET_ACCESS_KEY = 'ENV-wrong-secret-77aa';
    const err = await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr'), 'ERR_PERMISSION_DENIED');
    t.false(err.message.includes('ENV-wrong-secret-77aa'));

    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    writeFileSync(
      join(home, 'credentials'),
      `[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[rt]\naws_access_key_id = ${minio.accessKeyId}\naws_secret_access_key = ${minio.secretAccessKey}\n`,
    );
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(home, 'credentials');
    process.env.AWS_PROFILE = 'rt';
    const fromProfile = await openDatatree('s3://fixtures/stores/cf.zarr', { loadCoords: false });
    t.true([...fromProfile.subtree].length > 0);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(home, { recursive: true, force: true });
  }
});

test.serial('S3: 503 SlowDown answers are retried with backoff until the read succeeds', async (t) => {
  proxy.log.length = 0;
  proxy.fail503 = 3;
  const options = { storageOptions: { ...keys(), endpoint: proxy.url, initialBackoff: 10 } };
  await checkAgainstXarray(t, 'cf.json', 's3://fixtures/stores/cf.zarr', options);
  t.is(proxy.fail503, 0, 'all three 503s were served');
  proxy.fail503 = 1000;
  const err = await rejectsWith(
    t,
    openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...options.storageOptions, maxRetries: 2 } }),
    'ERR_STORAGE',
    'zarr.json',
  );
  t.regex(err.message, /503|SlowDown|retr/i);
  proxy.fail503 = 0;
});

test.serial('S3: a stalled request times out with a coded error', async (t) => {
  proxy.stall = /zarr\.json/;
  try {
    const started = Date.now();
    await rejectsWith(
      t,
      openDatatree('s3://fixtures/stores/cf.zarr', {
        storageOptions: { ...keys(), endpoint: proxy.url, timeout: 300, maxRetries: 1, initialBackoff: 10 },
      }),
      'ERR_STORAGE',
      'zarr.json',
    );
    t.true(Date.now() - started < 10_000);
  } finally {
    proxy.stall = undefined;
  }
});

test.serial('S3: aborting a read mid-flight rejects with ERR_ABORTED and leaves no request running', async (t) => {
  const tree = await openDatatree('s3://fixtures/stores/nexrad.zarr', { storageOptions: { ...keys(), endpoint: proxy.url } });
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  proxy.latencyMs = 10_000;
  try {
    const controller = new AbortController();
    const read = dbzh.read({}, { signal: controller.signal });
    while (proxy.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const aborted = Date.now();
    controller.abort();
    await rejectsWith(t, read, 'ERR_ABORTED');
    // Chunk tasks are aborted as the read's task drops; their requests end within moments, long before
    // the proxy would have answered them.
    while (tree.stats().inFlight > 0 && Date.now() - aborted < 1000) await new Promise((r) => setTimeout(r, 5));
    t.is(tree.stats().inFlight, 0);
    while (proxy.inFlight > 0 && Date.now() - aborted < 2000) await new Promise((r) => setTimeout(r, 5));
    t.is(proxy.inFlight, 0, 'the dropped requests closed their connections');
  } finally {
    proxy.latencyMs = 0;
  }
  const expected = loadExpected('nexrad.json').nodes['/VCP-12/sweep_0'].variables.DBZH;
  const again = await dbzh.read();
  t.deepEqual(again.shape, expected.shape);
});

test('S3: virtual chunks of an icechunk repository read from an authorised S3 container', async (t) => {
  const source = join(FIXTURES, 'icechunk', 'virtual.icechunk');
  const container = { prefix: 's3://rustytree-virtual/', endpoint: minio.endpoint, allowHttp: true, region: 'us-east-1' };
  const tree = await openDatatree(source, {
    virtualChunkContainers: [{ ...container, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey }],
  });
  const temp = await tree.dataset.get('temp')!.read();
  // temp's two chunks are the first 16 bytes of data.bin, as little-endian float32.
  const raw = readFileSync(join(FIXTURES, 'icechunk', 'virtual-data', 'data.bin'));
  t.deepEqual(Array.from(temp.data as Float32Array), Array.from(new Float32Array(new Uint8Array(raw.subarray(0, 16)).buffer)));
  const secret = 'virtual-WRONG-secret-991';
  const wrong = await openDatatree(source, {
    virtualChunkContainers: [{ ...container, accessKeyId: minio.accessKeyId, secretAccessKey: secret }],
  });
  const err = await t.throwsAsync(wrong.dataset.get('temp')!.read());
  t.true(isRustytreeError(err, 'ERR_STORAGE', 'ERR_PERMISSION_DENIED'), `${(err as any)?.code}: ${err?.message}`);
  t.false(err!.message.includes(secret));
  t.regex(err!.message, /temp/);
});
