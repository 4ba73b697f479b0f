// One measurement in a fresh process: `node --import=tsx benchmark/run-one.mts <json>` with
// { contender, task, endpoint, bucket, store, layout } prints { ms, rssMb, detail } as JSON.
//
// Contenders:
// - rustytree: `s3://<bucket>/<store>` through the benchmark server (anonymous, plain HTTP).
// - zarrita: zarrita.js 0.7.5 over HTTP (`FetchStore`); consolidated stores through its v3 consolidated
//   metadata extension; unconsolidated ones by opening the known node paths level by level (zarrita's
//   stores cannot list). zarrita does not apply CF decoding: its coordinates are raw stored values.
// Tasks: `open` (every node's metadata), `coords` (open + every sweep's index coordinates),
// `read` (open + one moment across every sweep).
// An ES module: zarrita ships ESM only. rustytree's CommonJS entry is loaded through its default export.
import * as zarr from 'zarrita';
import rustytree from '../index.js';
import type { DataTree } from '../index.js';

const { openDatatree } = rustytree;

interface Job {
  contender: 'rustytree' | 'zarrita';
  task: 'open' | 'coords' | 'read';
  endpoint: string;
  bucket: string;
  store: string;
  consolidated: boolean;
  /** rustytree's request cap (default: the library's). */
  maxConcurrency?: number;
  /** Node paths (`/VCP-12/sweep_0/DBZH`): groups, arrays, 1-D index coordinates, arrays `read` reads. */
  layout: { groups: string[]; arrays: string[]; coords: string[]; reads: string[] };
}

async function runRustytree(job: Job): Promise<Record<string, number>> {
  const tree: DataTree = await openDatatree(`s3://${job.bucket}/${job.store}`, {
    loadCoords: job.task === 'coords',
    maxConcurrency: job.maxConcurrency,
    storageOptions: { endpoint: job.endpoint, anonymous: true, allowHttp: true, region: 'us-east-1' },
  });
  let values = 0;
  if (job.task === 'read') {
    const variable = (p: string) => tree.get(p.slice(0, p.lastIndexOf('/')) || '/')!.dataset.get(p.slice(p.lastIndexOf('/') + 1))!;
    for (const r of await Promise.all(job.layout.reads.map((p) => variable(p).read()))) values += r.data.length;
  }
  if (job.task === 'coords') {
    for (const node of tree.subtree) for (const c of node.dataset.coords.values()) values += c.values?.data.length ?? 0;
  }
  return { nodes: [...tree.subtree].length, values, requests: tree.stats().requests };
}

async function runZarrita(job: Job): Promise<Record<string, number>> {
  const base = new zarr.FetchStore(`${job.endpoint}/${job.bucket}/${job.store}`);
  const store = job.consolidated ? await zarr.withConsolidatedMetadata(base, { format: 'v3' }) : base;
  const root = zarr.root(store);
  const nodes = new Map<string, zarr.Group<any> | zarr.Array<any, any>>();
  // Level by level: groups of each depth together, then every sweep's arrays together.
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);
  const maxDepth = Math.max(...job.layout.groups.map(depth));
  for (let d = 0; d <= maxDepth; d++) {
    const level = job.layout.groups.filter((g) => depth(g) === d);
    const opened = await Promise.all(level.map((g) => zarr.open(root.resolve(g === '/' ? '' : g.slice(1)), { kind: 'group' })));
    level.forEach((g, i) => nodes.set(g, opened[i]));
  }
  // Then every array, all at once (their groups are known).
  const arrays = await Promise.all(job.layout.arrays.map((p) => zarr.open(root.resolve(p.slice(1)), { kind: 'array' })));
  job.layout.arrays.forEach((p, i) => nodes.set(p, arrays[i]));
  let values = 0;
  const wanted = job.task === 'coords' ? job.layout.coords : job.task === 'read' ? job.layout.reads : [];
  const chunks = await Promise.all(wanted.map((p) => zarr.get(nodes.get(p) as zarr.Array<any, any>)));
  for (const c of chunks) values += (c.data as { length: number }).length;
  return { nodes: nodes.size, values };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  const t0 = performance.now();
  const detail = job.contender === 'rustytree' ? await runRustytree(job) : await runZarrita(job);
  const ms = performance.now() - t0;
  const rssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ms, rssMb, detail })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
