// One bounded pool per source: 200 reads at once on one tree with maxConcurrency 16 never have more than
// 16 requests in flight at the server (__test__/helpers/s3-server.ts counts them), and every result is right.
// The server also proves the library is read-only: it sees only GETs.
import test from 'ava';
import { join } from 'node:path';
import { openDatatree } from '../index';
import { serveBucket } from './helpers/s3-server';
import { FIXTURES, expectedValues, jsonValues, loadExpected } from './helpers/expected';

test('200 concurrent reads with maxConcurrency 16: at most 16 requests in flight, every value right', async (t) => {
  const server = await serveBucket(join(FIXTURES, 'stores'), { bucket: 'stores', latencyMs: 5 });
  try {
    const tree = await openDatatree('s3://stores/nexrad.zarr', {
      maxConcurrency: 16,
      storageOptions: { endpoint: server.url, anonymous: true, allowHttp: true, region: 'us-east-1' },
    });
    const expected = loadExpected('nexrad.json');
    const paths = Object.entries(expected.nodes).flatMap(([node, n]) =>
      Object.entries(n.variables)
        .filter(([, v]) => v.values !== null && v.dims.length > 0)
        .map(([name]) => [node, name] as const),
    );
    server.resetCounts();
    const reads = Array.from({ length: 200 }, (_, i) => {
      const [node, name] = paths[i % paths.length];
      const variable = tree.get(node)!.dataset.get(name)!;
      return variable.read().then((a) => [node, name, variable.dtype, a] as const);
    });
    // Every read's values, not only its shape, against what xarray decoded: a piece placed at the wrong
    // offset or taken from another read under the load would show here.
    for (const [node, name, dtype, a] of await Promise.all(reads)) {
      const want = expected.nodes[node].variables[name];
      t.deepEqual(a.shape, want.shape, `${node}/${name}`);
      t.deepEqual(jsonValues(a, dtype), expectedValues(want, dtype), `${node}/${name} values`);
    }
    t.true(server.counts.gets > 16, `${server.counts.gets} GETs`);
    t.true(server.counts.peakInFlight <= 16, `peak in flight at the server: ${server.counts.peakInFlight}`);
    t.true(tree.stats().peakInFlight <= 16);
    t.is(server.counts.heads + server.counts.lists, 0, 'reads of whole chunks need neither HEAD nor LIST');
  } finally {
    await server.close();
  }
});
