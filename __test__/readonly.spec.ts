// Read-only: every fixture is opened and every variable read (checked against xarray) through our proxy,
// whose request log shows what the library asked for: GET and HEAD only (never PUT, POST, DELETE), no key
// outside the store, and listings only where there is no consolidated metadata — one per group of an
// unconsolidated store, none for consolidated stores and icechunk repositories. Locally, opening and
// reading every fixture leaves the fixture directories byte-for-byte as they were (no lock, cache or
// temporary file). RELIABILITY.md records the request counts.
import test, { type ExecutionContext } from 'ava';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openDatatree } from '../index';
import { serveBucket, type BucketServer } from './helpers/s3-server';
import { FIXTURE_CASES, fixtureKey } from './helpers/cases';
import { checkAgainstXarray } from './helpers/compare';
import { FIXTURES } from './helpers/expected';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { serveDirectory } from './helpers/http-server';
import { filesUnder } from './helpers/servers';

let server: BucketServer;
const proxies: FaultProxy[] = [];

test.before(async () => {
  server = await serveBucket(FIXTURES, { bucket: 'fixtures' });
});

test.after.always(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await server?.close();
});

const storageOptions = (proxy: FaultProxy) => ({ endpoint: proxy.url, anonymous: true, allowHttp: true, region: 'us-east-1' });

interface Seen {
  methods: Set<string>;
  gets: number;
  heads: number;
  lists: number;
  outside: string[];
  listedPrefixes: string[];
}

/** What the proxy log shows for a store at `key` of bucket `fixtures`. */
function summarise(log: string[], key: string): Seen {
  const seen: Seen = { methods: new Set(), gets: 0, heads: 0, lists: 0, outside: [], listedPrefixes: [] };
  for (const line of log) {
    const [method, target] = line.split(' ');
    seen.methods.add(method);
    const url = new URL(target, 'http://x');
    if (method === 'GET' && url.searchParams.get('list-type') === '2') {
      seen.lists++;
      const prefix = url.searchParams.get('prefix') ?? '';
      seen.listedPrefixes.push(`${prefix} (${url.searchParams.has('delimiter') ? 'delimited' : 'recursive'})`);
      if (url.pathname !== '/fixtures' || !prefix.startsWith(`${key}/`)) seen.outside.push(line);
      continue;
    }
    if (method === 'GET') seen.gets++;
    if (method === 'HEAD') seen.heads++;
    if (!decodeURIComponent(url.pathname).startsWith(`/fixtures/${key}/`)) seen.outside.push(line);
  }
  return seen;
}

const figures: string[] = [];

for (const [expectedName, storeName, options] of FIXTURE_CASES) {
  const key = fixtureKey(storeName);
  test(`read-only over S3: ${expectedName} (${key})`, async (t) => {
    const proxy = await startFaultProxy(server.url);
    proxies.push(proxy);
    await checkAgainstXarray(t, expectedName, `s3://fixtures/${key}`, { ...options, storageOptions: storageOptions(proxy) });
    const seen = summarise(proxy.log, key);
    t.deepEqual(
      [...seen.methods].filter((m) => m !== 'GET' && m !== 'HEAD'),
      [],
      'only GET and HEAD',
    );
    t.deepEqual(seen.outside, [], 'no request outside the store');
    if (/unconsolidated/.test(key)) {
      // Every fixture fits one page of a recursive listing: the root is listed with and without a
      // delimiter, and nothing below it.
      t.deepEqual(seen.listedPrefixes.sort(), [`${key}/ (delimited)`, `${key}/ (recursive)`]);
    } else {
      t.is(seen.lists, 0, `no listing for a consolidated store or an icechunk repository: ${seen.listedPrefixes.join(', ')}`);
    }
    figures.push(`${expectedName}: ${proxy.log.length} requests (${seen.gets} GET, ${seen.heads} HEAD, ${seen.lists} LIST)`);
  });
}

test.after('request counts', (t) => {
  t.log(figures.sort().join('\n'));
});

test('read-only over HTTP: a consolidated store and an icechunk repository see GET only', async (t) => {
  const http = await serveDirectory(FIXTURES);
  try {
    await checkAgainstXarray(t, 'nexrad.json', `${http.url}/stores/nexrad.zarr`, {});
    await checkAgainstXarray(t, 'icechunk_radar.main.json', `${http.url}/icechunk/radar.icechunk`, {});
    const methods = new Set(http.log.map((line) => line.split(' ')[0]));
    t.deepEqual(
      [...methods].filter((m) => m !== 'GET' && m !== 'HEAD'),
      [],
      http.log.join('\n'),
    );
    t.log(`HTTP: ${http.log.length} requests, methods ${[...methods].join(', ')}`);
  } finally {
    await http.close();
  }
});

/** Every file under the fixture stores and repositories with its size and modification time. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of ['stores', 'icechunk']) {
    for (const [key, path] of filesUnder(join(FIXTURES, dir))) {
      const st = statSync(path);
      out.set(`${dir}/${key}`, `${st.size}@${st.mtimeMs}`);
    }
  }
  return out;
}

async function openAndReadAll(t: ExecutionContext, source: string, options: object): Promise<number> {
  const tree = await openDatatree(source, options);
  let reads = 0;
  for (const node of tree.subtree) {
    for (const v of node.dataset.variables.values()) {
      await v.read().then(
        () => reads++,
        // Unsupported dtypes reject by design; the point here is what the attempt leaves behind.
        (e: { code?: string }) => t.is(e.code, 'ERR_UNSUPPORTED_DTYPE'),
      );
    }
  }
  return reads;
}

test.serial('local opens and reads of every fixture leave the fixture files exactly as they were', async (t) => {
  const before = snapshot();
  let reads = 0;
  for (const [, storeName, options] of FIXTURE_CASES) reads += await openAndReadAll(t, join(FIXTURES, 'stores', storeName), options);
  const after = snapshot();
  t.deepEqual(
    [...after.keys()].filter((k) => !before.has(k)),
    [],
    'no file created',
  );
  t.deepEqual(
    [...before.keys()].filter((k) => !after.has(k)),
    [],
    'no file removed',
  );
  t.deepEqual(
    [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k),
    [],
    'no file changed',
  );
  t.true(reads > 200, `${reads} variables read`);
  t.log(`${before.size} fixture files unchanged after ${FIXTURE_CASES.length} local opens and ${reads} reads`);
});
