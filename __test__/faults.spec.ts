// Fault injection: our fault proxy in front of the benchmark's S3 server (path-style buckets `stores` and
// `icechunk` over fixtures/) breaks the walk's zarr.json reads and listings, icechunk's repo, ref,
// snapshot and manifest fetches, and chunk reads, in every way a network or server breaks: 429/500/503
// bursts, resets and truncation mid-body, lying Content-Lengths, stalls past the timeout, a closed port,
// and a server that dies mid-walk. Each outcome is either the values xarray decodes (fixtures/expected),
// after retries within `maxRetries`, or a coded error naming the key; every call runs under a deadline,
// so a hang fails the test instead of timing out the suite. RELIABILITY.md records the figures.
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { isRustytreeError, openDatatree, type DataTree, type ErrorCode, type StorageOptions } from '../index';
import { serveBucket, type BucketServer } from './helpers/s3-server';
import { checkAgainstXarray } from './helpers/compare';
import { FIXTURES, loadExpected, normalizeExpected, toJsonForm } from './helpers/expected';
import { startFaultProxy, type FaultKind, type FaultProxy } from './helpers/fault-proxy';
import { rejectsWith } from './helpers/reject';
import { freePort } from './helpers/servers';

let server: BucketServer;
const proxies: FaultProxy[] = [];

test.before(async () => {
  server = await serveBucket(join(FIXTURES, 'stores'), { bucket: 'stores', extraBuckets: { icechunk: join(FIXTURES, 'icechunk') } });
});

test.after.always(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await server?.close();
});

/** A proxy of the test's own, so tests run concurrently without sharing fault rules. */
async function proxyFor(): Promise<FaultProxy> {
  const proxy = await startFaultProxy(server.url);
  proxies.push(proxy);
  return proxy;
}

/** Short backoffs keep retries fast; the budget itself is what the test sets. */
const through = (proxy: FaultProxy, extra: StorageOptions = {}): StorageOptions => ({
  endpoint: proxy.url,
  anonymous: true,
  allowHttp: true,
  region: 'us-east-1',
  initialBackoff: 5,
  maxBackoff: 20,
  ...extra,
});

const DEADLINE_MS = 15_000;

/** `promise`, or a rejection if it has not settled within `ms`: a hang is a failure, not a suite timeout. */
async function within<T>(promise: Promise<T>, ms = DEADLINE_MS, what = 'the call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (briefly) for the proxy to see no request in flight; dropped requests close within moments. */
async function drained(t: ExecutionContext, proxy: FaultProxy, tree?: DataTree): Promise<void> {
  const until = Date.now() + 2000;
  while ((proxy.inFlight > 0 || (tree?.stats().inFlight ?? 0) > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  t.is(proxy.inFlight, 0, 'no request left in flight at the proxy');
  if (tree) t.is(tree.stats().inFlight, 0, 'no request left in flight in the tree');
}

// Where each fault is aimed: [fixture expected, source, a request pattern, a word the error must name].
const TARGETS: [name: string, expected: string, source: string, match: RegExp, names: string][] = [
  ['metadata', 'cf.json', 's3://stores/cf.zarr', /cf\.zarr\/zarr\.json/, 'zarr.json'],
  ['listing', 'nexrad_unconsolidated.json', 's3://stores/nexrad_unconsolidated.zarr', /list-type=2/, ''],
  ['chunk', 'nexrad.json', 's3://stores/nexrad.zarr', /DBZH\/c\//, 'DBZH'],
  ['icechunk repo', 'icechunk_radar.main.json', 's3://icechunk/radar.icechunk', /radar\.icechunk\/repo/, 'repo'],
  ['icechunk snapshot', 'icechunk_radar.main.json', 's3://icechunk/radar.icechunk', /radar\.icechunk\/snapshots\//, 'snapshot'],
  ['icechunk manifest', 'icechunk_radar.main.json', 's3://icechunk/radar.icechunk', /radar\.icechunk\/manifests\//, 'manifests/'],
  ['icechunk chunk', 'icechunk_radar.main.json', 's3://icechunk/radar.icechunk', /radar\.icechunk\/chunks\//, 'chunks/'],
  ['icechunk V1 ref', 'icechunk_radar_v1.main.json', 's3://icechunk/radar_v1.icechunk', /radar_v1\.icechunk\/refs\//, 'refs/'],
];

// ------------------------------------------------------------------ throttling and server errors

const STATUSES = [429, 503, 500];

TARGETS.forEach(([target, expected, source, match], i) => {
  const status = STATUSES[i % STATUSES.length];
  test(`a burst of three ${status}s on the ${target} is retried to the values xarray decodes (maxRetries 3)`, async (t) => {
    const proxy = await proxyFor();
    proxy.inject({ kind: 'status', status, times: 3, match });
    await within(checkAgainstXarray(t, expected, source, { storageOptions: through(proxy, { maxRetries: 3 }) }));
    t.is(proxy.faulted.length, 3, `three ${status}s served: ${proxy.faulted.join(', ')}`);
    await drained(t, proxy);
  });
});

test('the retry budget is exact: three 503s on one key fail with maxRetries 2 and pass with 3', async (t) => {
  for (const status of STATUSES) {
    const proxy = await proxyFor();
    proxy.inject({ kind: 'status', status, times: 3, match: /cf\.zarr\/zarr\.json/ });
    const err = await rejectsWith(
      t,
      within(openDatatree('s3://stores/cf.zarr', { storageOptions: through(proxy, { maxRetries: 2 }) })),
      'ERR_STORAGE',
      'zarr.json',
    );
    t.regex(err.message, new RegExp(`${status}`), 'the last status is reported');
    t.is(proxy.log.filter((l) => l.includes('zarr.json')).length, 3, 'one try and two retries');
    proxy.inject({ kind: 'status', status, times: 3, match: /cf\.zarr\/zarr\.json/ });
    const tree = await within(
      openDatatree('s3://stores/cf.zarr', { loadCoords: false, storageOptions: through(proxy, { maxRetries: 3 }) }),
    );
    t.true([...tree.subtree].length > 0);
  }
});

// A 403 on a chunk that exists must not read as the fill value. S3 answers 403 for a missing key only
// when the reader may not list; this server lets it list, so the adapter's one probe LIST succeeds and the
// 403 is a real denial (expired token, a policy on a prefix). Before the fix, the chunk read as NaNs.
test('a 403 on a chunk that exists is ERR_PERMISSION_DENIED, not the fill value', async (t) => {
  const proxy = await proxyFor();
  const tree = await within(openDatatree('s3://stores/nexrad.zarr', { storageOptions: through(proxy) }));
  proxy.inject({ kind: 'status', status: 403, times: 100, match: /DBZH\/c\/0\/0\/0/ });
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  await rejectsWith(t, within(dbzh.read()), 'ERR_PERMISSION_DENIED', 'DBZH');
});

// ------------------------------------------------------------------ broken bodies

for (const kind of ['reset', 'truncate'] as const) {
  for (const [target, expected, source, match] of TARGETS.filter(([target]) => target !== 'listing')) {
    test(`${kind} mid-body on the ${target} (twice) is retried to the values xarray decodes`, async (t) => {
      const proxy = await proxyFor();
      proxy.inject({ kind, times: 2, match, okOnly: true });
      await within(checkAgainstXarray(t, expected, source, { storageOptions: through(proxy, { maxRetries: 3 }) }));
      t.is(proxy.faulted.length, 2, proxy.faulted.join(', '));
      await drained(t, proxy);
    });
  }
}

// object_store retries a listing request but not the reading of its body; the adapter retries listings
// whose body failed (or did not parse), so one dropped connection no longer fails a whole walk.
for (const kind of ['reset', 'truncate'] as const) {
  test(`${kind} mid-body on a listing is retried to the values xarray decodes`, async (t) => {
    const proxy = await proxyFor();
    proxy.inject({ kind, times: 1, match: /list-type=2/ });
    const outcome = await within(
      checkAgainstXarray(t, 'nexrad_unconsolidated.json', 's3://stores/nexrad_unconsolidated.zarr', {
        storageOptions: through(proxy, { maxRetries: 3 }),
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    t.is(outcome?.message, undefined);
    t.is(proxy.faulted.length, 1);
  });
}

test('a listing cut mid-body fails with a coded error, never an empty or partial tree', async (t) => {
  // Every try cut: once the body retries are spent, a clean ERR_STORAGE naming the listing, quickly.
  for (const kind of ['reset', 'truncate', 'longLength', 'shortLength'] as FaultKind[]) {
    const proxy = await proxyFor();
    proxy.inject({ kind, times: 100, match: /list-type=2/ });
    const err = await rejectsWith(
      t,
      within(openDatatree('s3://stores/nexrad_unconsolidated.zarr', { storageOptions: through(proxy, { maxRetries: 2 }) })),
      'ERR_STORAGE',
    );
    t.regex(err.message, /list/i, `${kind}: ${err.message}`);
    await drained(t, proxy);
  }
});

test('every try cut mid-body: a coded error naming the key once the retries are spent', async (t) => {
  for (const kind of ['reset', 'truncate'] as const) {
    for (const [target, , source, match, names] of TARGETS.filter(([target]) => !/listing|chunk|manifest/.test(target))) {
      const proxy = await proxyFor();
      proxy.inject({ kind, times: 1000, match });
      const err = await rejectsWith(
        t,
        within(openDatatree(source, { loadCoords: false, storageOptions: through(proxy, { maxRetries: 2 }) })),
        'ERR_STORAGE',
        names,
      );
      t.true(proxy.faulted.length >= 3 && proxy.faulted.length <= 6, `${kind} ${target}: ${proxy.faulted.length} tries: ${err.message}`);
      await drained(t, proxy);
    }
  }
});

/**
 * Reads every variable of `expectedName`'s root-to-leaf tree: each is either the values xarray decoded
 * or a coded error naming the variable. Returns the tally of outcomes.
 */
async function rightOrCoded(
  t: ExecutionContext,
  tree: DataTree,
  expectedName: string,
  allowed: ErrorCode[],
): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  const expected = loadExpected(expectedName);
  for (const [path, node] of Object.entries(expected.nodes)) {
    for (const [name, ev] of Object.entries(node.variables)) {
      if (ev.values === null || ev.cftime || ev.reader === 'zarr-python') continue;
      const v = tree.get(path)!.dataset.get(name)!;
      try {
        const got = await within(v.read(), DEADLINE_MS, `${v.path}.read()`);
        const values = Array.from({ length: got.data.length }, (_, i) => toJsonForm(got.data, i, v.dtype));
        t.deepEqual(
          values,
          ev.values.map((x) => normalizeExpected(x, v.dtype)),
          `${v.path}: never a wrong value`,
        );
        tally.right = (tally.right ?? 0) + 1;
      } catch (e) {
        t.true(isRustytreeError(e, ...allowed), `${v.path}: ${(e as any)?.code} ${(e as Error).message}`);
        t.true((e as Error).message.includes(v.path), `${v.path} is named: ${(e as Error).message}`);
        tally[(e as any).code] = (tally[(e as any).code] ?? 0) + 1;
      }
    }
  }
  return tally;
}

test('wrong Content-Lengths on every chunk of every codec chain: a coded error, never a wrong value', async (t) => {
  const proxy = await proxyFor();
  const tree = await within(openDatatree('s3://stores/codecs.zarr', { storageOptions: through(proxy, { maxRetries: 2 }) }));
  // A declared length one byte short is a well-formed response: for a ranged read (an inner chunk of a
  // shard) the client sees fewer bytes than the Content-Range it asked for (ERR_STORAGE); for a whole
  // chunk only decoding can notice (ERR_DECODE).
  proxy.inject({ kind: 'shortLength', times: 1_000_000, match: /\/c\// });
  const short = await rightOrCoded(t, tree, 'codecs.json', ['ERR_DECODE', 'ERR_STORAGE']);
  t.log('one byte short:', JSON.stringify(short));
  t.false('right' in short, 'a chunk missing its last byte is never taken as whole');
  t.true('ERR_DECODE' in short, 'whole chunks missing their last byte fail to decode');
  proxy.faults.length = 0;
  // A declared length longer than the body: the client's resumed range is refused by the server.
  proxy.inject({ kind: 'longLength', times: 1_000_000, match: /\/c\//, okOnly: true });
  const long = await rightOrCoded(t, tree, 'codecs.json', ['ERR_STORAGE', 'ERR_DECODE']);
  t.log('64 bytes long:', JSON.stringify(long));
  t.false('right' in long, 'a body the client cannot complete is never taken as whole');
  proxy.faults.length = 0;
  await drained(t, proxy, tree);
});

test('wrong Content-Lengths on metadata, snapshots and manifests: coded errors naming what was read', async (t) => {
  const cases: [RegExp, string, ErrorCode[], RegExp][] = [
    [/cf\.zarr\/zarr\.json/, 's3://stores/cf.zarr', ['ERR_INVALID_METADATA', 'ERR_STORAGE'], /zarr\.json/],
    [/radar\.icechunk\/repo/, 's3://icechunk/radar.icechunk', ['ERR_STORAGE', 'ERR_INVALID_METADATA'], /repo/],
    [/radar\.icechunk\/snapshots\//, 's3://icechunk/radar.icechunk', ['ERR_STORAGE', 'ERR_INVALID_METADATA'], /snapshot/],
    [
      /radar\.icechunk\/manifests\//,
      's3://icechunk/radar.icechunk',
      ['ERR_STORAGE', 'ERR_INVALID_METADATA', 'ERR_DECODE'],
      /manifest|vcp_time|time/,
    ],
  ];
  for (const kind of ['shortLength', 'longLength'] as const) {
    for (const [match, source, codes, names] of cases) {
      const proxy = await proxyFor();
      proxy.inject({ kind, times: 1000, match });
      const err = (await t.throwsAsync(within(openDatatree(source, { storageOptions: through(proxy, { maxRetries: 2 }) })))) as Error;
      t.true(isRustytreeError(err, ...codes), `${kind} ${match}: ${(err as any)?.code} ${err?.message}`);
      t.regex(err.message, names);
      await drained(t, proxy);
    }
  }
});

// The sharding codec fetches its index and inner chunks itself, so zarrs wraps a network failure there
// in a codec error; it must still be ERR_STORAGE (retryable), not ERR_DECODE (corrupt data).
test('a storage failure inside a sharded read is ERR_STORAGE, not ERR_DECODE', async (t) => {
  const proxy = await proxyFor();
  const tree = await within(openDatatree('s3://stores/codecs.zarr', { storageOptions: through(proxy, { maxRetries: 1 }) }));
  proxy.inject({ kind: 'status', status: 503, times: 1000, match: /f32_sharding\/c\/1\/1/ });
  await rejectsWith(t, within(tree.dataset.get('f32_sharding')!.read()), 'ERR_STORAGE', 'f32_sharding');
});

// ------------------------------------------------------------------ stalls, closed ports, dying servers

test.serial('a stall past storageOptions.timeout on every kind of request: ERR_STORAGE naming the key, promptly', async (t) => {
  await Promise.all(
    TARGETS.map(async ([target, , source, match, names]) => {
      const proxy = await proxyFor();
      proxy.inject({ kind: 'stall', times: 1000, match });
      const started = Date.now();
      const attempt = async () => {
        // 1 s, not less: nexrad.zarr's consolidated zarr.json must arrive within it on a loaded machine.
        const tree = await openDatatree(source, { storageOptions: through(proxy, { timeout: 1000, maxRetries: 1 }) });
        // The chunk targets stall the reads, not the open.
        for (const node of tree.subtree) for (const v of node.dataset.variables.values()) await v.read();
      };
      const err = await rejectsWith(t, within(attempt(), 10_000, target), 'ERR_STORAGE', names);
      const ms = Date.now() - started;
      // One try and one retry of 1 s each, plus backoff: well under the deadline.
      t.true(ms >= 1900 && ms < 8000, `${target}: ${ms} ms`);
      t.regex(err.message, /timed out|error sending request/);
      t.log(`${target}: ERR_STORAGE after ${ms} ms`);
    }),
  );
});

test('connect failures (a closed port): ERR_STORAGE naming the key, after the retries, for s3 and http sources', async (t) => {
  const port = await freePort();
  const dead = `http://127.0.0.1:${port}`;
  const options = { anonymous: true, allowHttp: true, region: 'us-east-1', maxRetries: 2, initialBackoff: 5 };
  for (const source of ['s3://stores/cf.zarr', 's3://icechunk/radar.icechunk']) {
    const started = Date.now();
    await rejectsWith(t, within(openDatatree(source, { storageOptions: { ...options, endpoint: dead } })), 'ERR_STORAGE', 'zarr.json');
    t.true(Date.now() - started < 5000);
  }
  await rejectsWith(
    t,
    within(openDatatree(`${dead}/cf.zarr`, { storageOptions: { maxRetries: 2, initialBackoff: 5 } })),
    'ERR_STORAGE',
    'zarr.json',
  );
  await rejectsWith(
    t,
    within(openDatatree(`${dead}/radar.icechunk`, { engine: 'icechunk', storageOptions: { maxRetries: 2, initialBackoff: 5 } })),
    'ERR_STORAGE',
    'repo',
  );
});

test('a server that dies mid-walk: ERR_STORAGE naming the level being listed, no hang, nothing in flight', async (t) => {
  for (const dieAfter of [3, 4, 6, 9]) {
    const proxy = await proxyFor();
    proxy.latencyMs = 5;
    proxy.dieAfter = dieAfter;
    const err = await rejectsWith(
      t,
      within(openDatatree('s3://stores/nexrad_unconsolidated.zarr', { storageOptions: through(proxy, { maxRetries: 2 }) })),
      'ERR_STORAGE',
    );
    t.true(proxy.dead);
    t.regex(err.message, /zarr\.json|VCP-|sweep_|list|repo/, `after ${dieAfter} requests: ${err.message}`);
    await drained(t, proxy);
  }
});

test('a server that dies mid-read: ERR_STORAGE naming the chunk, then reads through a live server succeed', async (t) => {
  const proxy = await proxyFor();
  const tree = await within(openDatatree('s3://stores/nexrad.zarr', { storageOptions: through(proxy, { maxRetries: 2 }) }));
  const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
  proxy.latencyMs = 5;
  proxy.dieAfter = proxy.log.length + 4;
  await rejectsWith(t, within(dbzh.read()), 'ERR_STORAGE', 'DBZH');
  t.true(proxy.dead);
  await drained(t, proxy, tree);
  // The same tree re-opened against a live endpoint reads correctly: nothing poisoned a shared client.
  const live = await proxyFor();
  const again = await within(openDatatree('s3://stores/nexrad.zarr', { storageOptions: through(live) }));
  const got = await within(again.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!.read());
  const ev = loadExpected('nexrad.json').nodes['/VCP-12/sweep_0'].variables.DBZH;
  t.deepEqual(
    Array.from({ length: got.data.length }, (_, i) => toJsonForm(got.data, i, 'float64')),
    ev.values!.map((x) => normalizeExpected(x, 'float64')),
  );
});
