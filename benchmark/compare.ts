// Contenders on one simulated object store: the KLOT-like archive (benchmark/make_data.py) served by
// __test__/helpers/s3-server.ts with latency L, each measurement in a fresh process (benchmark/run-one.mts),
// the median of RUNS runs after a warm-up run. Fits T(L) = a + b·L per contender, store and task.
// Contenders: rustytree and zarrita.js on the Zarr stores; rustytree and, when @earthmover/icechunk is
// installed, icechunk-js (zarrita.js on its wasm store) on the icechunk repository; with the bench venv's
// python, xarray and rustytree-xarray (benchmark/run_one.py) on the Zarr stores and on the icechunk
// repository (through an icechunk-python session).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { serveBucket, type BucketServer } from '../__test__/helpers/s3-server';

const execFileAsync = promisify(execFile);

export interface Measurement {
  store: string;
  contender: string;
  task: string;
  points: [number, number][];
  rssMb: number;
  requests: number;
  a: number;
  b: number;
  minimum: number | string;
}

/** Which stores of a data directory play which part. */
export interface Stores {
  consolidated: string;
  unconsolidated: string;
  /** The same hierarchy as an icechunk repository (optional). */
  icechunk?: string;
}

/** Node paths of a hierarchy, from a consolidated store's root document; `reads` are the `moment` arrays. */
export function layoutOf(root: string, consolidatedStore: string, moment: string) {
  const doc = JSON.parse(readFileSync(join(root, consolidatedStore, 'zarr.json'), 'utf8'));
  const metadata = doc.consolidated_metadata?.metadata as Record<string, { node_type: string; dimension_names?: string[] }>;
  if (!metadata) throw new Error(`${consolidatedStore} has no consolidated metadata`);
  const entries = Object.entries(metadata).map(([k, v]) => [`/${k}`, v] as const);
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);
  const groups = ['/', ...entries.filter(([, v]) => v.node_type === 'group').map(([k]) => k)].sort(
    (a, b) => depth(a) - depth(b) || (a < b ? -1 : 1),
  );
  const arrays = entries
    .filter(([, v]) => v.node_type === 'array')
    .map(([k]) => k)
    .sort();
  const coords = entries
    .filter(([k, v]) => v.node_type === 'array' && v.dimension_names?.length === 1 && v.dimension_names[0] === name(k))
    .map(([k]) => k)
    .sort();
  const reads = arrays.filter((p) => name(p) === moment);
  return { groups, arrays, coords, reads };
}

/** Least-squares line through (L, T). */
export function fit(points: [number, number][]): { a: number; b: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { a: my - b * mx, b };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Whether @earthmover/icechunk resolves from here (a devDependency, or NODE_PATH for a trial): the
 * icechunk-js contender runs only then.
 */
export function icechunkJsAvailable(): boolean {
  try {
    require.resolve('@earthmover/icechunk');
    return true;
  } catch {
    return false;
  }
}

/**
 * The stores and who runs on each, with each task's protocol minimum of sequential round trips. A listing
 * walk of klot.zarr lists three levels of groups (root, the VCPs, their sweeps) before it can read the
 * sweeps' array metadata: depth + 1 = 4 for `open`, one more for `coords` and `read`.
 */
/** rustytree with `maxConcurrency` above the listing walk's node count. */
const WIDE_CONCURRENCY = 2048;
const WIDE = `rustytree (maxConcurrency ${WIDE_CONCURRENCY})`;

function cases(stores: Stores, python: boolean) {
  const py = python ? ['xarray', 'rustytree-xarray'] : [];
  const icechunkJs = icechunkJsAvailable() ? ['icechunk-js'] : [];
  return [
    {
      store: stores.consolidated,
      consolidated: true,
      icechunk: false,
      contenders: ['rustytree', 'zarrita', ...py],
      minimum: { open: 1, coords: 2, read: 2 },
    },
    {
      store: stores.unconsolidated,
      consolidated: false,
      icechunk: false,
      // The listing walk reads 1,591 documents: at the default cap of 256 requests in flight that is about
      // six waves more than the protocol minimum, so it also runs with a cap above the node count.
      contenders: ['rustytree', WIDE, 'zarrita', ...py],
      minimum: { open: 'depth + 1 = 4', coords: 5, read: 5 } as Record<string, number | string>,
    },
    ...(stores.icechunk
      ? [
          {
            store: stores.icechunk,
            consolidated: false,
            icechunk: true,
            contenders: ['rustytree', ...icechunkJs, ...py],
            minimum: { open: 2, coords: 3, read: 3 },
          },
        ]
      : []),
  ];
}

const PYTHON_CONTENDERS = new Set(['xarray', 'rustytree-xarray']);
/** Contenders whose runs take seconds to minutes: they get `slowRuns`, `slowLatencies` and `slowTasks`. */
const SLOW_CONTENDERS = new Set([...PYTHON_CONTENDERS, 'icechunk-js']);

/** One fresh process (asynchronously: the server runs in this process's event loop). */
export async function runOnce(
  job: { contender: string },
  python: string | undefined,
): Promise<{ ms: number; rssMb: number; detail: Record<string, number> }> {
  const [command, args] = PYTHON_CONTENDERS.has(job.contender)
    ? [python!, [join(__dirname, 'run_one.py'), JSON.stringify(job)]]
    : [process.execPath, ['--import=tsx', join(__dirname, 'run-one.mts'), JSON.stringify(job)]];
  try {
    const { stdout } = await execFileAsync(command, args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 600_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } catch (e) {
    // The job's JSON (every node path) would bury the child's own message: keep the end of its stderr.
    const stderr = String((e as { stderr?: string }).stderr ?? e);
    throw new Error(`${JSON.stringify(job).slice(0, 120)}... failed: ${stderr.slice(-2000)}`);
  }
}

/** Measures every case at every latency; `tasks` and `runs` shrink it for smoke runs. */
export async function compare(
  dataDir: string,
  stores: Stores,
  options: {
    latencies: number[];
    runs: number;
    tasks: string[];
    log?: (line: string) => void;
    /** The bench venv's python: adds xarray and rustytree-xarray (on every store). */
    python?: string;
    /** Fewer runs, latencies and tasks for the slow contenders (the Python ones and icechunk-js). */
    slowRuns?: number;
    slowLatencies?: number[];
    slowTasks?: string[];
    /** Only these contenders (default: every one that can run). */
    contenders?: string[];
  },
): Promise<Measurement[]> {
  const jobLayout = layoutOf(dataDir, stores.consolidated, 'DBZH');
  // rustytree-xarray 0.5.2 opens only a bucket's root: each Zarr store is also a bucket of its own.
  const bucketOf = (store: string) => store.replace(/[^a-z0-9-]/gi, '-').toLowerCase();
  const extraBuckets = Object.fromEntries([stores.consolidated, stores.unconsolidated].map((s) => [bucketOf(s), join(dataDir, s)]));
  const server: BucketServer = await serveBucket(dataDir, { bucket: 'bench', extraBuckets });
  const results: Measurement[] = [];
  try {
    for (const c of cases(stores, options.python !== undefined)) {
      for (const contender of c.contenders.filter((x) => options.contenders?.includes(x) ?? true)) {
        const slow = SLOW_CONTENDERS.has(contender);
        for (const task of slow ? (options.slowTasks ?? options.tasks) : options.tasks) {
          const points: [number, number][] = [];
          let rssMb = 0;
          let requests = 0;
          for (const latencyMs of slow ? (options.slowLatencies ?? options.latencies) : options.latencies) {
            server.latencyMs = latencyMs;
            // rustytree-xarray reads a Zarr store from a bucket of its own; on the icechunk repository it gets an
            // icechunk-python session, whose storage keeps the prefix.
            const ownBucket = contender === 'rustytree-xarray' && !c.icechunk;
            const job = {
              contender: contender === WIDE ? 'rustytree' : contender,
              ...(contender === WIDE ? { maxConcurrency: WIDE_CONCURRENCY } : {}),
              task,
              endpoint: server.url,
              bucket: ownBucket ? bucketOf(c.store) : 'bench',
              store: ownBucket ? '' : c.store,
              consolidated: c.consolidated,
              icechunk: c.icechunk,
              layout: jobLayout,
            };
            await runOnce(job, options.python); // warm-up: page cache, server
            const times: number[] = [];
            const runs = slow ? (options.slowRuns ?? options.runs) : options.runs;
            for (let i = 0; i < runs; i++) {
              server.resetCounts();
              const r = await runOnce(job, options.python);
              times.push(r.ms);
              rssMb = Math.max(rssMb, r.rssMb);
              const k = server.counts;
              requests = k.gets + k.rangedGets + k.heads + k.lists;
            }
            points.push([latencyMs, median(times)]);
          }
          const { a, b } = fit(points);
          const minimum = (c.minimum as Record<string, number | string>)[task];
          const m: Measurement = { store: c.store, contender, task, points, rssMb, requests, a, b, minimum };
          results.push(m);
          options.log?.(
            `${c.store} ${contender} ${task}: ${points.map(([l, t]) => `L=${l}: ${t.toFixed(0)} ms`).join(', ')}; ` +
              `b=${b.toFixed(2)} a=${a.toFixed(0)} ms, ${requests} requests, RSS ${rssMb.toFixed(0)} MB`,
          );
        }
      }
    }
  } finally {
    await server.close();
  }
  return results;
}

/** The markdown table of `results` ("—" where a contender was not run at a latency). */
export function table(results: Measurement[], latencies: number[]): string {
  const head = `| store | contender | task | ${latencies.map((l) => `T @ L=${l}`).join(' | ')} | b | minimum | a (ms) | requests | peak RSS (MB) |`;
  const rule = `|${' --- |'.repeat(latencies.length + 8)}`;
  const at = (m: Measurement, l: number) => m.points.find(([x]) => x === l)?.[1].toFixed(0) ?? '—';
  const rows = results.map(
    (m) =>
      `| ${m.store} | ${m.contender} | ${m.task} | ${latencies.map((l) => at(m, l)).join(' | ')} | ${m.b.toFixed(2)} | ${m.minimum} | ${m.a.toFixed(0)} | ${m.requests} | ${m.rssMb.toFixed(0)} |`,
  );
  return [head, rule, ...rows].join('\n');
}
