// Round trips, measured: opens the bundled stores over HTTP from a static server on 127.0.0.1 that delays
// every response by L ms, and fits T(L) = a + b·L per case. b is the number of sequential round trips the
// open costs, a its CPU cost. The first contender is rustytree itself; others join with the benchmark
// issue. Writes benchmark/RESULTS.md (or prints only, with --smoke).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { openDatatree, type OpenOptions } from '../index';
import { serveDirectory } from '../__test__/helpers/http-server';

const FIXTURES = join(__dirname, '..', 'fixtures');
const smoke = process.argv.includes('--smoke');
const LATENCIES = smoke ? [0, 20] : [0, 10, 50, 100];
const RUNS = smoke ? 1 : 5;

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Least-squares line through (L, T). */
function fit(points: [number, number][]): { a: number; b: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { a: my - b * mx, b };
}

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
  if (smoke) return;
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
  ].join('\n');
  writeFileSync(join(__dirname, 'RESULTS.md'), text);
  console.log('\nwrote benchmark/RESULTS.md');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
