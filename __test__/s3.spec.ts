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
import { FIXTURES, loadExpected, nodesBelowRoot } from './helpers/expected';
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
  await minio.upload('rustytree-virtual', join(FIXTURES, 'icechunk', 'virtual-data'));
  await minio.allowAnonymousRead('public', true);
  await minio.allowAnonymousRead('getonly', false);
  proxy = await startFaultProxy(minio.endpoint);
});

test.after.always(async () => {
  await proxy?.close();
  await minio?.stop();
});

for (const [expectedName, storeName, options] of FIXTURE_CASES) {
  test(`S3: ${expectedName} decodes as xarray does`, (t) =>
    checkAgainstXarray(t, expectedName, `s3://fixtures/${fixtureKey(storeName)}`, { ...options, storageOptions: keys() }),
  );
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
  await checkAgainstXarray(t, 'nexrad_unconsolidated.json', 's3://public/stores/nexrad_unconsolidated.zarr', { storageOptions: anonymous() });
  await checkAgainstXarray(t, 'icechunk_radar.main.json', 's3://public/icechunk/radar.icechunk', { storageOptions: anonymous() });
});

test('S3: without list permission, 403 for a missing key means missing', async (t) => {
  // The repo probe of a Zarr store and the zarr.json probe of a repository are answered 403, not 404.
  await checkAgainstXarray(t, 'cf.json', 's3://getonly/stores/cf.zarr', { storageOptions: anonymous() });
  // Chunks never written are answered 403 too, and read as the fill value, as xarray reads them.
  await checkAgainstXarray(t, 'dtypes.json', 's3://getonly/stores/dtypes.zarr', { storageOptions: anonymous() });
  await checkAgainstXarray(t, 'icechunk_radar.main.json', 's3://getonly/icechunk/radar.icechunk', { storageOptions: anonymous() });
  // A walk needs listings, which the policy refuses: a clear error, not an empty tree.
  await rejectsWith(t, openDatatree('s3://getonly/stores/nexrad_unconsolidated.zarr', { storageOptions: anonymous() }), 'ERR_PERMISSION_DENIED');
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
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), accessKeyId: 'NOSUCHKEY' } }), 'ERR_PERMISSION_DENIED');
});

test('S3: a missing bucket or object is ERR_NOT_FOUND', async (t) => {
  await rejectsWith(t, openDatatree('s3://no-such-bucket/stores/cf.zarr', { storageOptions: keys() }), 'ERR_NOT_FOUND');
  await rejectsWith(t, openDatatree('s3://fixtures/stores/no_such.zarr', { storageOptions: keys() }), 'ERR_NOT_FOUND');
  await rejectsWith(t, openDatatree('s3://fixtures/icechunk/radar.icechunk', { storageOptions: keys(), branch: 'nope' }), 'ERR_NOT_FOUND', 'nope');
});

test('S3: storage options are checked by name and type', async (t) => {
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), secretKey: 'x' } as any }), 'ERR_INVALID_ARGUMENT', 'secretKey');
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), accountKey: 'x' } }), 'ERR_INVALID_ARGUMENT', 'accountKey');
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), timeout: -1 } }), 'ERR_INVALID_ARGUMENT', 'timeout');
  await rejectsWith(t, openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { region: {} } as any }), 'ERR_INVALID_ARGUMENT', 'region');
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
      openDatatree('s3://fixtures/stores/cf.zarr', { storageOptions: { ...keys(), endpoint: proxy.url, timeout: 300, maxRetries: 1, initialBackoff: 10 } }),
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
