// `npm run bench`. Part 1, round trips: opens the bundled stores over HTTP from a static server on 127.0.0.1
// that delays every response by L ms, and fits T(L) = a + b·L per case (b: sequential round trips, a: CPU
// cost). Part 2, contenders (benchmark/compare.ts): rustytree, zarrita.js, zarrita.js on @earthmover/icechunk
// (when installed) and, with RUSTYTREE_BENCH_PYTHON, xarray and rustytree-xarray on the KLOT-like archive
// (`--data DIR`, from scripts/bench_data.sh) served by __test__/helpers/s3-server.ts, each run a fresh
// process.
// Part 3, throughput (benchmark/throughput.ts): decoded MB/s from local disk per codec, against the codec
// alone (with RUSTYTREE_BENCH_PYTHON).
// Writes benchmark/results.json and, from it, benchmark/RESULTS.md (benchmark/report.ts) and, with
// RUSTYTREE_BENCH_PYTHON, benchmark/plot.png (benchmark/plot.py).
// `--only roundtrips,contenders,throughput` runs some parts and keeps the others' figures; `--contenders a,b`
// measures only those contenders (throughput: `rustytree`, `zarrita`, `limit`) and replaces only their rows. With --smoke, runs a tiny version of every
// part on the fixtures and only prints. With data of the `large` profile (`npm run bench -- --large`) only
// the throughput part runs, 3 runs per contender, and its figures are kept beside the small profile's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openDatatree, type OpenOptions } from '../index';
import { serveDirectory } from '../__test__/helpers/http-server';
import { compare, fit, median, type Measurement } from './compare';
import { loadResults, meta, render, saveResults, type Layout, type Results, type RoundTrip, type ThroughputPart } from './report';
import { CODEC_STORES, throughput } from './throughput';

const FIXTURES = join(__dirname, '..', 'fixtures');
const smoke = process.argv.includes('--smoke');
const LATENCIES = smoke ? [0, 20] : [0, 10, 50, 100];
const RUNS = smoke ? 1 : 5;
// xarray issues thousands of mostly sequential requests per open: at 100 ms each one run would take many
// minutes, so the Python contenders run at L = 0 and 10 ms, three times each, and b comes from those.
// icechunk-js (wasm) takes seconds per open and about a minute for `coords` here: the same, without `coords`.
const SLOW_LATENCIES = [0, 10];
const SLOW_RUNS = 3;
/** Fresh-process runs per contender on the `large` profile (zarrita.js takes about a minute a run). */
const LARGE_RUNS = 3;
// The library's default request cap for local stores (what the throughput part runs with).
const LOCAL_MAX_CONCURRENCY = 64;
const PARTS = ['roundtrips', 'contenders', 'throughput'];

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const dataDir = arg('--data');
/** The GB-sized profile: only throughput is measured on it (its metadata is the small profile's). */
const large = dataDir !== undefined && JSON.parse(readFileSync(join(dataDir, 'layout.json'), 'utf8')).profile === 'large';
const only = large ? ['throughput'] : (arg('--only')?.split(',') ?? PARTS);
const onlyContenders = arg('--contenders')?.split(',');
const python = process.env.RUSTYTREE_BENCH_PYTHON;

interface Case {
  name: string;
  path: string;
  options: OpenOptions;
  minimum: number;
}

const CASES: Case[] = [
  { name: 'Zarr, consolidated (engine: zarr)', path: 'stores/nexrad.zarr', options: { engine: 'zarr', loadCoords: false }, minimum: 1 },
  { name: 'Zarr, consolidated (detected)', path: 'stores/nexrad.zarr', options: { loadCoords: false }, minimum: 1 },
  { name: 'Zarr, consolidated + index coords', path: 'stores/nexrad.zarr', options: { engine: 'zarr' }, minimum: 2 },
  {
    name: 'icechunk main (engine: icechunk)',
    path: 'icechunk/radar.icechunk',
    options: { engine: 'icechunk', loadCoords: false },
    minimum: 2,
  },
  { name: 'icechunk main (detected)', path: 'icechunk/radar.icechunk', options: { loadCoords: false }, minimum: 2 },
  { name: 'icechunk main + index coords', path: 'icechunk/radar.icechunk', options: {}, minimum: 3 },
];

async function roundTrips(): Promise<RoundTrip[]> {
  const rows: RoundTrip[] = [];
  for (const c of CASES) {
    const points: [number, number][] = [];
    let requests = 0;
    for (const latencyMs of LATENCIES) {
      const server = await serveDirectory(FIXTURES, { latencyMs });
      try {
        const url = `${server.url}/${c.path}`;
        await openDatatree(url, c.options); // warm-up (connection pool, code paths)
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          const tree = await openDatatree(url, c.options);
          times.push(performance.now() - t0);
          requests = tree.stats().requests;
        }
        points.push([latencyMs, median(times)]);
      } finally {
        await server.close();
      }
    }
    const { a, b } = fit(points);
    rows.push({ name: c.name, points, requests, a, b, minimum: c.minimum });
    console.log(`${c.name}: T(L) ≈ ${a.toFixed(1)} ms + ${b.toFixed(2)}·L (protocol minimum ${c.minimum}), ${requests} requests`);
  }
  return rows;
}

/** Rows of `fresh` replace the rows of `old` with the same store, contender and task; the others stay. */
function merge(old: Measurement[], fresh: Measurement[]): Measurement[] {
  const key = (m: Measurement) => `${m.store}\u0000${m.contender}\u0000${m.task}`;
  const byKey = new Map(fresh.map((m) => [key(m), m]));
  const kept = old.map((m) => byKey.get(key(m)) ?? m);
  const added = fresh.filter((m) => !old.some((o) => key(o) === key(m)));
  return [...kept, ...added];
}

async function main(): Promise<void> {
  if (smoke) {
    // Every part, tiny, on the fixtures; printed, never written.
    const results: Results = {};
    if (only.includes('roundtrips')) await roundTrips();
    if (only.includes('contenders')) {
      await compare(
        FIXTURES,
        { consolidated: 'stores/nexrad.zarr', unconsolidated: 'stores/nexrad_unconsolidated.zarr' },
        {
          latencies: [0],
          runs: 1,
          tasks: ['open'],
          log: (l) => console.log(`contender ${l}`),
        },
      );
    }
    if (only.includes('throughput')) {
      const rows = await throughput(FIXTURES, ['stores/nexrad.zarr'], {
        moments: ['DBZH', 'ZDR'],
        runs: 1,
        log: (l) => console.log(`throughput ${l}`),
      });
      const layout = {
        profile: 'fixture',
        groups: 0,
        arrays: 0,
        vcps: 0,
        sweeps: 0,
        volumes: 0,
        azimuths: 0,
        gates: 0,
        decoded_bytes_all_moments: 0,
        writer: { xarray: '', zarr: '', icechunk: '' },
      };
      results.throughput = { meta: meta(loadavg()[0]), runs: 1, layout, maxConcurrency: LOCAL_MAX_CONCURRENCY, rows };
    }
    console.log(`report: ${render(results).split('\n').length} lines`);
    return;
  }
  const results = loadResults();
  const layout: Layout | undefined = dataDir ? JSON.parse(readFileSync(join(dataDir, 'layout.json'), 'utf8')) : undefined;
  if (only.includes('roundtrips')) {
    const start = loadavg()[0];
    const rows = await roundTrips();
    results.roundTrips = { meta: meta(start), runs: RUNS, latencies: LATENCIES, rows };
  }
  if (only.includes('contenders') && dataDir && layout) {
    const start = loadavg()[0];
    const measurements = await compare(
      dataDir,
      { consolidated: 'klot_consolidated.zarr', unconsolidated: 'klot.zarr', icechunk: 'klot.icechunk' },
      {
        latencies: LATENCIES,
        runs: RUNS,
        tasks: ['open', 'coords', 'read'],
        log: console.log,
        python,
        slowRuns: SLOW_RUNS,
        slowLatencies: SLOW_LATENCIES,
        slowTasks: ['open', 'read'],
        contenders: onlyContenders,
      },
    );
    const old = results.contenders;
    if (onlyContenders && old) {
      old.measurements = merge(old.measurements, measurements);
      old.updates = [
        ...(old.updates ?? []).filter((u) => !u.contenders.every((c) => onlyContenders.includes(c))),
        { meta: meta(start), contenders: onlyContenders },
      ];
    } else {
      const slow = { runs: SLOW_RUNS, latencies: SLOW_LATENCIES };
      results.contenders = {
        meta: meta(start),
        runs: RUNS,
        latencies: LATENCIES,
        layout,
        python: python !== undefined,
        slow,
        measurements,
      };
    }
  }
  if (only.includes('throughput') && dataDir && layout) {
    const start = loadavg()[0];
    const moments = JSON.parse(readFileSync(join(dataDir, 'layout.json'), 'utf8')).moments as string[];
    const runs = large ? LARGE_RUNS : RUNS;
    const rows = await throughput(dataDir, Object.keys(CODEC_STORES), {
      moments,
      runs,
      python,
      contenders: onlyContenders,
      log: console.log,
    });
    const old = large ? results.throughputLarge : results.throughput;
    let part: ThroughputPart = { meta: meta(start), runs, layout, maxConcurrency: LOCAL_MAX_CONCURRENCY, rows };
    if (onlyContenders && old) {
      // Only these rows are replaced (`limit` stands for both limit rows).
      const measured = (r: { store: string; contender: string }) => rows.some((n) => n.store === r.store && n.contender === r.contender);
      const updates = [
        ...(old.updates ?? []).filter((u) => !u.contenders.every((c) => onlyContenders.includes(c))),
        { meta: meta(start), contenders: onlyContenders },
      ];
      part = { ...old, rows: [...old.rows.filter((r) => !measured(r)), ...rows], updates };
    }
    if (large) results.throughputLarge = part;
    else results.throughput = part;
  }
  if (!dataDir && only.some((p) => p !== 'roundtrips')) console.log('no --data DIR: the contenders and throughput parts were skipped');
  saveResults(results);
  console.log('\nwrote benchmark/results.json and benchmark/RESULTS.md');
  if (python && results.contenders) {
    execFileSync(python, [join(__dirname, 'plot.py'), join(__dirname, 'results.json'), join(__dirname, 'plot.png')], { stdio: 'inherit' });
  } else {
    console.log('benchmark/plot.png not redrawn: it needs RUSTYTREE_BENCH_PYTHON (the bench venv) and contender results');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
