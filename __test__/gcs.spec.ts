// gs:// sources against a real fake-gcs-server on 127.0.0.1. object_store speaks GCS's XML API, of which
// fake-gcs-server serves reads, byte ranges and listings: those are what these tests cover. It accepts
// any credentials, so authentication failures are covered by the S3 and Azure tests instead.
import test from 'ava';
import { join } from 'node:path';
import { openDatatree, type StorageOptions } from '../index';
import { FIXTURE_CASES, fixtureKey } from './helpers/cases';
import { checkAgainstXarray } from './helpers/compare';
import { FIXTURES, nodesBelowRoot } from './helpers/expected';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { startFakeGcs, type FakeGcsServer } from './helpers/servers';
import { rejectsWith } from './helpers/reject';

let proxy: FaultProxy;
let gcs: FakeGcsServer;

// Unsigned requests: fake-gcs-server has no OAuth endpoint, and without credentials object_store would
// look for a metadata server.
const anonymous = (): StorageOptions => ({ endpoint: gcs.endpoint, allowHttp: true, anonymous: true });
const withToken = (): StorageOptions => ({ endpoint: gcs.endpoint, allowHttp: true, bearerToken: 'gcs-test-token-4f1e' });

test.before(async () => {
  gcs = await startFakeGcs();
  await gcs.upload('fixtures', join(FIXTURES, 'stores'), 'stores/');
  await gcs.upload('fixtures', join(FIXTURES, 'icechunk'), 'icechunk/');
  proxy = await startFaultProxy(gcs.endpoint);
  // fake-gcs-server routes XML-API paths by host; requests are unsigned, so the Host may change.
  proxy.rewriteHost = true;
});

test.after.always(async () => {
  await proxy?.close();
  await gcs?.stop();
});

for (const [expectedName, storeName, options] of FIXTURE_CASES) {
  test(`GCS: ${expectedName} decodes as xarray does`, (t) =>
    checkAgainstXarray(t, expectedName, `gs://fixtures/${fixtureKey(storeName)}`, { ...options, storageOptions: anonymous() }));
}

test('GCS: a bearer token is sent and never shown', async (t) => {
  await checkAgainstXarray(t, 'cf.json', 'gs://fixtures/stores/cf.zarr', { storageOptions: withToken() });
  const err = await rejectsWith(t, openDatatree('gs://fixtures/stores/no_such.zarr', { storageOptions: withToken() }), 'ERR_NOT_FOUND');
  t.false(err.message.includes('gcs-test-token-4f1e'));
});

test('GCS: request counts are the protocol minimum', async (t) => {
  const zarr = await openDatatree('gs://fixtures/stores/nexrad.zarr', { loadCoords: false, engine: 'zarr', storageOptions: anonymous() });
  t.like(zarr.stats(), { requests: 1 });
  const repo = await openDatatree('gs://fixtures/icechunk/radar.icechunk', { loadCoords: false, storageOptions: anonymous() });
  t.like(repo.stats(), { requests: 3, lists: 0 });
  const walked = await openDatatree('gs://fixtures/stores/nexrad_unconsolidated.zarr', { loadCoords: false, storageOptions: anonymous() });
  // The root listed with and without a delimiter; the recursive listing names every node (the store
  // fits one page), so nothing below the root is listed, and each document is read once (plus the format
  // probe's `repo`).
  t.like(walked.stats(), { lists: 2, gets: 2 + nodesBelowRoot('nexrad_unconsolidated.zarr') });
});

test('GCS: a missing bucket or object is ERR_NOT_FOUND', async (t) => {
  await rejectsWith(t, openDatatree('gs://no-such-bucket/stores/cf.zarr', { storageOptions: anonymous() }), 'ERR_NOT_FOUND');
  await rejectsWith(t, openDatatree('gs://fixtures/stores/no_such.zarr', { storageOptions: anonymous() }), 'ERR_NOT_FOUND');
});

test.serial('GCS: 503 answers are retried with backoff until the read succeeds', async (t) => {
  proxy.fail503 = 3;
  await checkAgainstXarray(t, 'cf.json', 'gs://fixtures/stores/cf.zarr', {
    storageOptions: { ...anonymous(), endpoint: proxy.url, initialBackoff: 10 },
  });
  t.is(proxy.fail503, 0, 'all three 503s were served');
});
