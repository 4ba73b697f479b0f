// `npm run bench`. Part 1, round trips: opens the bundled stores over HTTP from a static server on 127.0.0.1
// that delays every response by L ms, and fits T(L) = a + b·L per case (b: sequential round trips, a: CPU
// cost). Part 2, contenders (benchmark/compare.ts): rustytree and zarrita.js on the KLOT-like archive
// (`--data DIR`, from scripts/bench_data.sh) served by benchmark/s3-server.ts, each run a fresh process.
// Writes benchmark/RESULTS.md; with --smoke, runs a tiny version of both parts on the fixtures and only prints.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { openDatatree, type OpenOptions } from '../index';
import { serveDirectory } from '../__test__/helpers/http-server';
import { compare, fit, median, table } from './compare';

const FIXTURES = join(__dirname, '..', 'fixtures');
const smoke = process.argv.includes('--smoke');
const LATENCIES = smoke ? [0, 20] : [0, 10, 50, 100];
const RUNS = smoke ? 1 : 5;
// xarray issues thousands of mostly sequential requests per open: at 100 ms each one run would take many
// minutes, so the Python contenders run at L = 0 and 10 ms, three times each, and b comes from those.
const PYTHON_LATENCIES = [0, 10];
const PYTHON_RUNS = 3;

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
  { name: 'icechunk main (engine: icechunk)', path: 'icechunk/radar.icechunk', options: { engine: 'icechunk', loadCoords: false }, minimum: 2 },
  { name: 'icechunk main (detected)', path: 'icechunk/radar.icechunk', options: { loadCoords: false }, minimum: 2 },
  { name: 'icechunk main + index coords', path: 'icechunk/radar.icechunk', options: {}, minimum: 3 },
];

async function main(): Promise<void> {
  const rows: string[] = [];
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
    const cells = points.map(([, t]) => t.toFixed(1)).join(' | ');
    rows.push(`| ${c.name} | ${cells} | ${requests} | ${b.toFixed(2)} | ${c.minimum} | ${a.toFixed(1)} |`);
    console.log(`${c.name}: T(L) ≈ ${a.toFixed(1)} ms + ${b.toFixed(2)}·L (protocol minimum ${c.minimum}), ${requests} requests`);
  }
  const dataArg = process.argv.indexOf('--data');
  const dataDir = dataArg > 0 ? process.argv[dataArg + 1] : undefined;
  const contenders = smoke
    ? await compare(FIXTURES, { consolidated: 'stores/nexrad.zarr', unconsolidated: 'stores/nexrad_unconsolidated.zarr' }, {
        latencies: [0],
        runs: 1,
        tasks: ['open'],
        log: (l) => console.log(`contender ${l}`),
      })
    : dataDir
      ? await compare(dataDir, { consolidated: 'klot_consolidated.zarr', unconsolidated: 'klot.zarr', icechunk: 'klot.icechunk' }, {
          latencies: LATENCIES,
          runs: RUNS,
          tasks: ['open', 'coords', 'read'],
          log: console.log,
          python: process.env.RUSTYTREE_BENCH_PYTHON,
          pythonRuns: PYTHON_RUNS,
          pythonLatencies: PYTHON_LATENCIES,
          pythonTasks: ['open', 'read'],
        })
      : [];
  if (smoke) return;
  const layout = dataDir ? JSON.parse(readFileSync(join(dataDir, 'layout.json'), 'utf8')) : undefined;
  const header = `| case | ${LATENCIES.map((l) => `T @ L=${l} ms`).join(' | ')} | requests | b (round trips) | minimum | a (ms) |`;
  const rule = `|${' --- |'.repeat(LATENCIES.length + 5)}`;
  const text = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'},`,
    `Node ${process.version}. Each time is the median of ${RUNS} opens after a warm-up, in ms, against a static`,
    'server on 127.0.0.1 that delays every response by L. b is the slope of the fitted line T(L) = a + b·L: the',
    'number of sequential round trips; "minimum" is the protocol minimum for that case.',
    '',
    header,
    rule,
    ...rows,
    '',
    ...(layout
      ? [
          '## Contenders on the KLOT-like archive',
          '',
          `The \`${layout.profile}\` profile of benchmark/make_data.py: ${layout.groups} groups, ${layout.arrays} arrays,`,
          `${layout.vcps} VCPs x ${layout.sweeps} sweeps, six float32 moments of ${layout.volumes} x ${layout.azimuths} x ${layout.gates} per sweep`,
          `(${(layout.decoded_bytes_all_moments / 1e6).toFixed(0)} MB decoded), written by xarray ${layout.writer.xarray}, zarr ${layout.writer.zarr}, icechunk ${layout.writer.icechunk}.`,
          'Served by benchmark/s3-server.ts (S3 ListObjectsV2 + GET, latency L on every response and one more on every',
          `new connection). Each time is the median of ${RUNS} fresh processes after a warm-up, in ms, from the first call to`,
          'the last value. Tasks: `open` = every node\'s metadata; `coords` = open + every 1-D index coordinate;',
          '`read` = open + DBZH of every sweep. zarrita.js (0.7.5, FetchStore; consolidated v3 metadata through its',
          'extension, otherwise the known node paths level by level, since it cannot list) decodes no CF attributes.',
          ...(process.env.RUSTYTREE_BENCH_PYTHON
            ? [
                'xarray 2026.9.0 (`open_datatree(engine="zarr")` over s3fs 2026.9.0) and rustytree-xarray 0.5.2',
                `(\`engine="rustytree"\`) run from a pinned venv (scripts/requirements-bench.txt), ${PYTHON_RUNS} runs each at`,
                `L = ${PYTHON_LATENCIES.join(' and ')} ms only (thousands of requests per open make higher L take minutes per run), so`,
                'their b is fitted on those two points. xarray loads index coordinates while opening, so its `open` is',
                'also its `coords`. rustytree-xarray 0.5.2 opens only a store at a bucket\'s root, so it reads each',
                'store from a bucket of its own on the same server.',
              ]
            : []),
          'Fresh processes open new connections, so b includes connection set-up (one round trip per connection).',
          'Requests are counted at the server; peak RSS is the child process\'s.',
          '',
          table(contenders, LATENCIES),
          '',
        ]
      : []),
  ].join('\n');
  writeFileSync(join(__dirname, 'RESULTS.md'), text);
  console.log('\nwrote benchmark/RESULTS.md');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
