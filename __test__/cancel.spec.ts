// Cancellation: 1,000 reads and 100 opens aborted at random points (before the call, synchronously after
// it, or 0–40 ms into it) against an S3 server with latency, behind our fault proxy. Every Promise
// settles, each with the values xarray decodes or ERR_ABORTED; afterwards nothing is in flight at the
// proxy, the server or the tree's own counters. Memory is measured in a child process (ava's node
// arguments cannot take --expose-gc): after forced GCs, heap and RSS return near their baseline after
// each round of 1,000 aborted reads. RELIABILITY.md records the figures.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isRustytreeError, openDatatree, type Variable } from '../index';
import { serveBucket, type BucketServer } from './helpers/s3-server';
import { FIXTURES, loadExpected, normalizeExpected, toJsonForm } from './helpers/expected';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';

const ROOT = join(__dirname, '..');

let server: BucketServer;
let proxy: FaultProxy;

test.before(async () => {
  server = await serveBucket(join(FIXTURES, 'stores'), { bucket: 'stores', latencyMs: 3 });
  proxy = await startFaultProxy(server.url);
});

test.after.always(async () => {
  await proxy?.close();
  await server?.close();
});

const storageOptions = () => ({ endpoint: proxy.url, anonymous: true, allowHttp: true, region: 'us-east-1' });

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When to abort: before the call (5 %), synchronously right after it (10 %), long after it settled
 * (15 %: the abort must then change nothing), or 0–`spanMs` ms into it.
 */
function abortPlan(rand: () => number, spanMs: number): { before: boolean; sync: boolean; delayMs: number } {
  const r = rand();
  return { before: r < 0.05, sync: r >= 0.05 && r < 0.15, delayMs: r < 0.3 ? 30_000 : Math.floor(rand() * spanMs) };
}

/** The C-ordered block [start, stop) of a C-ordered array of `shape`. */
function block<T>(values: T[], shape: number[], start: number[], stop: number[]): T[] {
  const out: T[] = [];
  const walk = (d: number, offset: number) => {
    for (let i = start[d]; i < stop[d]; i++) {
      const at = offset * shape[d] + i;
      if (d === shape.length - 1) out.push(values[at]);
      else walk(d + 1, at);
    }
  };
  walk(0, 0);
  return out;
}

async function settledWithin<T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[] | 'HANG'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'HANG'>((r) => {
    timer = setTimeout(() => r('HANG'), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

test.serial(
  '1,000 reads aborted at random points: every Promise settles, right values or ERR_ABORTED, nothing left in flight',
  async (t) => {
    const seed = 20261124;
    const rand = random(seed);
    const expected = loadExpected('nexrad.json');
    const tree = await openDatatree('s3://stores/nexrad.zarr', { storageOptions: storageOptions() });
    const targets: [Variable, unknown[]][] = Object.entries(expected.nodes).flatMap(([path, node]) =>
      Object.entries(node.variables)
        .filter(([, v]) => v.values !== null && v.dims.length > 1)
        .map(([name, v]): [Variable, unknown[]] => {
          const variable = tree.get(path)!.dataset.get(name)!;
          return [variable, v.values!.map((x) => normalizeExpected(x, variable.dtype))];
        }),
    );
    t.true(targets.length >= 10, `${targets.length} variables read`);
    const started = Date.now();
    const tally = { values: 0, aborted: 0, other: 0 };
    const timers: NodeJS.Timeout[] = [];
    const BATCH = 50;
    for (let batch = 0; batch < 1000 / BATCH; batch++) {
      const reads = Array.from({ length: BATCH }, () => {
        const [variable, all] = targets[Math.floor(rand() * targets.length)];
        // One random chunk, through read() or readChunk(): a read costs one request, so 1,000 stay quick.
        const coords = variable.shape.map((n, d) => Math.floor(rand() * Math.ceil(n / variable.chunks[d])));
        const start = coords.map((c, d) => c * variable.chunks[d]);
        const stop = start.map((s, d) => Math.min(s + variable.chunks[d], variable.shape[d]));
        const want = block(all, variable.shape, start, stop);
        const plan = abortPlan(rand, 12);
        const controller = new AbortController();
        if (plan.before) controller.abort();
        const selection = Object.fromEntries(variable.dims.map((dim, d): [string, [number, number]] => [dim, [start[d], stop[d]]]));
        const pending =
          rand() < 0.5
            ? variable.read(selection, { signal: controller.signal })
            : variable.readChunk(coords, { signal: controller.signal });
        const read = pending.then((got) => {
          const values = Array.from({ length: got.data.length }, (_, i) => toJsonForm(got.data, i, variable.dtype));
          t.deepEqual(values, want, `${variable.path} chunk ${coords}: a read that was not aborted in time is right`);
          return 'values' as const;
        });
        if (plan.sync) controller.abort();
        else if (!plan.before) timers.push(setTimeout(() => controller.abort(), plan.delayMs));
        return read;
      });
      const settled = await settledWithin(reads, 15_000);
      if (settled === 'HANG') return t.fail(`batch ${batch}: a read never settled (seed ${seed})`);
      for (const s of settled) {
        if (s.status === 'fulfilled') tally.values++;
        else if (isRustytreeError(s.reason, 'ERR_ABORTED')) tally.aborted++;
        else {
          tally.other++;
          t.fail(`unexpected rejection: ${(s.reason as any)?.code} ${(s.reason as Error)?.message}`);
        }
      }
    }
    const ms = Date.now() - started;
    for (const timer of timers) clearTimeout(timer);
    t.is(tally.values + tally.aborted, 1000);
    // The plan aborts most reads mid-flight; both outcomes must really occur for the test to mean anything.
    t.true(tally.aborted > 300, `${tally.aborted} aborted`);
    t.true(tally.values > 20, `${tally.values} completed`);
    const quiet = Date.now();
    while ((proxy.inFlight > 0 || server.counts.inFlight > 0 || tree.stats().inFlight > 0) && Date.now() - quiet < 3000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    t.is(tree.stats().inFlight, 0, 'no request in flight in the tree');
    t.is(proxy.inFlight, 0, 'no request in flight at the proxy');
    t.is(server.counts.inFlight, 0, 'no request in flight at the server');
    t.log(
      `1,000 reads in ${ms} ms: ${tally.values} completed, ${tally.aborted} ERR_ABORTED; ${tree.stats().requests} requests made; quiet ${Date.now() - quiet} ms after the last settled`,
    );
    // The tree is still usable after all that.
    const [variable, want] = targets[0];
    const got = await variable.read();
    t.deepEqual(
      Array.from({ length: got.data.length }, (_, i) => toJsonForm(got.data, i, variable.dtype)),
      want,
    );
  },
);

test.serial('100 opens aborted at random points: ERR_ABORTED or a whole tree, nothing left in flight', async (t) => {
  const rand = random(7);
  const sources: [string, number][] = [
    ['s3://stores/nexrad_unconsolidated.zarr', Object.keys(loadExpected('nexrad_unconsolidated.json').nodes).length],
    ['s3://stores/nexrad.zarr', Object.keys(loadExpected('nexrad.json').nodes).length],
    ['s3://stores/cf.zarr', Object.keys(loadExpected('cf.json').nodes).length],
  ];
  const tally = { trees: 0, aborted: 0 };
  const timers: NodeJS.Timeout[] = [];
  const opens = Array.from({ length: 100 }, (_, i) => {
    const controller = new AbortController();
    const plan = abortPlan(rand, 60);
    if (plan.before) controller.abort();
    const [source, nodes] = sources[i % sources.length];
    const open = openDatatree(source, { signal: controller.signal, storageOptions: storageOptions() }).then((tree) => {
      t.is([...tree.subtree].length, nodes, `${source} opened whole`);
      return tree;
    });
    if (plan.sync) controller.abort();
    else if (!plan.before) timers.push(setTimeout(() => controller.abort(), plan.delayMs));
    return open;
  });
  const settled = await settledWithin(opens, 20_000);
  if (settled === 'HANG') return t.fail('an open never settled');
  for (const s of settled) {
    if (s.status === 'fulfilled') tally.trees++;
    else {
      t.true(isRustytreeError(s.reason, 'ERR_ABORTED'), `${(s.reason as any)?.code} ${(s.reason as Error)?.message}`);
      tally.aborted++;
    }
  }
  for (const timer of timers) clearTimeout(timer);
  t.true(tally.aborted > 30, `${tally.aborted} aborted`);
  t.true(tally.trees > 10, `${tally.trees} opened`);
  const quiet = Date.now();
  while ((proxy.inFlight > 0 || server.counts.inFlight > 0) && Date.now() - quiet < 3000) await new Promise((r) => setTimeout(r, 5));
  t.is(proxy.inFlight, 0);
  t.is(server.counts.inFlight, 0);
  t.log(`100 opens: ${tally.trees} trees, ${tally.aborted} ERR_ABORTED`);
});

// The child: a server with latency, one tree, warm-up reads, then rounds of 1,000 reads aborted at random
// points with a forced GC and a memory sample after each. Prints one JSON line.
const CHILD = `
const { join } = require('node:path');
const { openDatatree } = require(${JSON.stringify(join(ROOT, 'index.js'))});
const { serveBucket } = require(${JSON.stringify(join(ROOT, '__test__', 'helpers', 's3-server.ts'))});
(async () => {
  const server = await serveBucket(${JSON.stringify(join(FIXTURES, 'stores'))}, { bucket: 'stores', latencyMs: 2 });
  const tree = await openDatatree('s3://stores/nexrad.zarr', { storageOptions: { endpoint: server.url, anonymous: true, allowHttp: true, region: 'us-east-1' } });
  const vars = [];
  for (const node of tree.subtree) for (const v of node.dataset.variables.values()) if (v.dims.length > 1) vars.push(v);
  let seed = 99;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const round = async (n) => {
    let aborted = 0;
    for (let b = 0; b < n / 50; b++) {
      const reads = [];
      for (let i = 0; i < 50; i++) {
        const c = new AbortController();
        const v = vars[Math.floor(rand() * vars.length)];
        const coords = v.shape.map((n, d) => Math.floor(rand() * Math.ceil(n / v.chunks[d])));
        reads.push(v.readChunk(coords, { signal: c.signal }).catch((e) => { if (e.code !== 'ERR_ABORTED') throw e; aborted++; }));
        // One in five is never aborted, so completed reads (and their buffers) are part of the churn.
        if (rand() >= 0.2) setTimeout(() => c.abort(), Math.floor(rand() * 8));
      }
      await Promise.all(reads);
    }
    return aborted;
  };
  const sample = async () => {
    for (let i = 0; i < 4; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  await round(200);
  const baseline = await sample();
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const aborted = await round(1000);
    // Requests written before their abort may still be accepted by the (same-process) server a moment
    // later; wait until it has seen nothing new for 200 ms.
    const settledAt = Date.now();
    const issued = tree.stats().requests;
    const seen = () => server.counts.gets + server.counts.rangedGets + server.counts.heads;
    const before = seen();
    let last = seen(), lastChange = Date.now();
    while (Date.now() - lastChange < 200 && Date.now() - settledAt < 5000) {
      await new Promise((r) => setTimeout(r, 10));
      if (seen() !== last) { last = seen(); lastChange = Date.now(); }
    }
    const late = seen() - before;
    const issuedLate = tree.stats().requests - issued;
    rounds.push({ late, issuedLate, quietMs: Date.now() - settledAt, aborted, ...(await sample()), inFlight: tree.stats().inFlight, serverInFlight: server.counts.inFlight });
  }
  await server.close();
  console.log(JSON.stringify({ baseline, rounds }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('memory returns near its baseline after five rounds of 1,000 reads aborted at random points (child process with --expose-gc)', (t) => {
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', '-e', CHILD], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.is(child.status, 0, child.stderr);
  const { baseline, rounds } = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    baseline: Record<string, number>;
    rounds: Record<string, number>[];
  };
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  for (const r of rounds) {
    t.true(r.aborted > 300 && r.aborted < 1000, `${r.aborted} of 1,000 aborted`);
    t.is(r.inFlight, 0);
    t.is(r.serverInFlight, 0);
    // Late arrivals at the server were written before their abort: the library issued nothing after.
    t.is(r.issuedLate, 0, 'no request issued after every read settled');
    // Decoded buffers of completed reads are external memory; all of it must be collectable.
    t.true(r.heapUsed - baseline.heapUsed < 8 * 2 ** 20, `heap ${mb(baseline.heapUsed)} -> ${mb(r.heapUsed)} MB`);
    t.true(r.external - baseline.external < 8 * 2 ** 20, `external ${mb(baseline.external)} -> ${mb(r.external)} MB`);
  }
  // RSS grows over the first rounds as allocator arenas and the connection pool fill; after that it must
  // level off: a leak of even one decoded chunk per aborted read would add ~3 MB a round here.
  const perRound = (rounds[rounds.length - 1].rss - rounds[1].rss) / (rounds.length - 2);
  t.true(perRound < 6 * 2 ** 20, `RSS ${rounds.map((r) => mb(r.rss)).join(' -> ')} MB: ${mb(perRound)} MB a round after round 2`);
  t.log(
    `baseline RSS ${mb(baseline.rss)} MB heap ${mb(baseline.heapUsed)} MB external ${mb(baseline.external)} MB; ` +
      rounds
        .map(
          (r, i) =>
            `round ${i + 1}: ${r.aborted} aborted, ${r.late} requests arrived after the last settled, quiet after ${r.quietMs} ms, RSS ${mb(r.rss)} heap ${mb(r.heapUsed)} external ${mb(r.external)}`,
        )
        .join('; ') +
      `; ${Date.now() - started} ms`,
  );
});
