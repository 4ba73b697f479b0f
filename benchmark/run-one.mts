// One measurement in a fresh process: `node --import=tsx benchmark/run-one.mts <json>` with
// { contender, task, endpoint, bucket, store, layout } prints { ms, rssMb, detail } as JSON.
//
// Contenders:
// - rustytree: `s3://<bucket>/<store>` through the benchmark server (anonymous, plain HTTP).
// - zarrita: zarrita.js 0.7.5 over HTTP (`FetchStore`); consolidated stores through its v3 consolidated
//   metadata extension; unconsolidated ones by opening the known node paths level by level (zarrita's
//   stores cannot list). zarrita does not apply CF decoding: its coordinates are raw stored values.
// - icechunk-js: zarrita.js on the Store of @earthmover/icechunk (its wasm32-wasi build: the native Linux
//   binary needs glibc >= 2.38), whose storage is `Storage.newCustom` with callbacks that fetch from the
//   benchmark server; the node paths are opened level by level as for zarrita.
// Tasks: `open` (every node's metadata), `coords` (open + every sweep's index coordinates),
// `read` (open + one moment across every sweep), `throughput` (a local store at `path`: open, then every
// array of `layout.reads` read whole, all at once; `ms` covers the reads only, the open is in `detail`).
// An ES module: zarrita ships ESM only. rustytree's CommonJS entry is loaded through its default export.
import { createRequire } from 'node:module';
import { FileSystemStore } from '@zarrita/storage';
import * as zarr from 'zarrita';
import rustytree from '../index.js';
import type { DataTree } from '../index.js';

const { openDatatree } = rustytree;

interface Job {
  contender: 'rustytree' | 'zarrita' | 'icechunk-js';
  task: 'open' | 'coords' | 'read' | 'throughput';
  endpoint: string;
  bucket: string;
  store: string;
  /** `throughput`: the store's local directory. */
  path?: string;
  consolidated: boolean;
  /** rustytree's request cap (default: the library's). */
  maxConcurrency?: number;
  /** Node paths (`/VCP-12/sweep_0/DBZH`): groups, arrays, 1-D index coordinates, arrays `read` reads. */
  layout: { groups: string[]; arrays: string[]; coords: string[]; reads: string[] };
}

/** Elapsed ms of the reads alone: the `throughput` task's clock, which starts after the open. */
let readStart: number | undefined;

async function runRustytree(job: Job): Promise<Record<string, number>> {
  if (job.task === 'throughput') return readRustytreeLocal(job);
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

/** Every array of `layout.reads` from a local store, whole, all at once, kept until the end. */
async function readRustytreeLocal(job: Job): Promise<Record<string, number>> {
  const t0 = performance.now();
  const tree: DataTree = await openDatatree(job.path!, { maxConcurrency: job.maxConcurrency });
  const openMs = performance.now() - t0;
  const rssOpenMb = process.memoryUsage().rss / 2 ** 20;
  const variable = (p: string) => tree.get(p.slice(0, p.lastIndexOf('/')) || '/')!.dataset.get(p.slice(p.lastIndexOf('/') + 1))!;
  readStart = performance.now();
  const arrays = await Promise.all(job.layout.reads.map((p) => variable(p).read()));
  const bytes = arrays.reduce((n, a) => n + (a.data as Float32Array).byteLength, 0);
  return { openMs, rssOpenMb, values: arrays.reduce((n, a) => n + a.data.length, 0), bytes };
}

async function runZarrita(job: Job): Promise<Record<string, number>> {
  if (job.task === 'throughput') return readZarritaLocal(job);
  const base = new zarr.FetchStore(`${job.endpoint}/${job.bucket}/${job.store}`);
  const store = job.consolidated ? await zarr.withConsolidatedMetadata(base, { format: 'v3' }) : base;
  return openAndReadZarrita(job, store);
}

/** zarrita.js on a local store (`FileSystemStore`, consolidated metadata): as readRustytreeLocal. */
async function readZarritaLocal(job: Job): Promise<Record<string, number>> {
  const t0 = performance.now();
  const store = await zarr.withConsolidatedMetadata(new FileSystemStore(job.path!), { format: 'v3' });
  const root = zarr.root(store);
  const opened = await Promise.all(job.layout.reads.map((p) => zarr.open(root.resolve(p.slice(1)), { kind: 'array' })));
  const openMs = performance.now() - t0;
  const rssOpenMb = process.memoryUsage().rss / 2 ** 20;
  readStart = performance.now();
  const arrays = await Promise.all(opened.map((a) => zarr.get(a)));
  const data = arrays.map((c) => c.data as Float32Array);
  return { openMs, rssOpenMb, values: data.reduce((n, d) => n + d.length, 0), bytes: data.reduce((n, d) => n + d.byteLength, 0) };
}

/** zarrita.js on the Store of an @earthmover/icechunk read-only session over the benchmark server. */
async function runIcechunkJs(job: Job): Promise<Record<string, number>> {
  // CommonJS with a wasm fallback: loaded through require (NODE_PATH works too, for trying it unsaved).
  const { Repository, Storage } = createRequire(import.meta.url)('@earthmover/icechunk');
  const base = `${job.endpoint}/${job.bucket}/${job.store}`;
  const check = (resp: Response, path: string) => {
    if (!resp.ok) throw new Error(`${resp.status === 404 ? 'ObjectNotFound' : `HTTP ${resp.status}`}: ${path}`);
  };
  const readOnly = async () => {
    throw new Error('read-only storage');
  };
  const storage = Storage.newCustom({
    canWrite: async () => false,
    getObjectRange: async (_: null, { path, rangeStart, rangeEnd }: { path: string; rangeStart?: number; rangeEnd?: number }) => {
      const range = rangeStart == null ? undefined : `bytes=${rangeStart}-${rangeEnd == null ? '' : rangeEnd - 1}`;
      const resp = await fetch(`${base}/${path}`, { headers: range ? { range } : {} });
      check(resp, path);
      return { data: Buffer.from(await resp.arrayBuffer()), version: { etag: resp.headers.get('etag') ?? undefined } };
    },
    getObjectConditional: async (_: null, { path, previousVersion }: { path: string; previousVersion?: { etag?: string } }) => {
      const headers: Record<string, string> = previousVersion?.etag ? { 'if-none-match': previousVersion.etag } : {};
      const resp = await fetch(`${base}/${path}`, { headers });
      if (resp.status === 304) return { kind: 'on_latest_version' };
      check(resp, path);
      return { kind: 'modified', data: Buffer.from(await resp.arrayBuffer()), newVersion: { etag: resp.headers.get('etag') ?? undefined } };
    },
    getObjectLastModified: async (_: null, path: string) => {
      const resp = await fetch(`${base}/${path}`, { method: 'HEAD' });
      check(resp, path);
      return new Date(resp.headers.get('last-modified')!);
    },
    // Opening a branch of a V2 repository lists nothing; a read-only session writes nothing.
    listObjects: async (_: null, prefix: string) => {
      throw new Error(`listing is not implemented here (${prefix})`);
    },
    putObject: readOnly,
    copyObject: readOnly,
    deleteBatch: readOnly,
  });
  const repo = await Repository.open(storage);
  const session = await repo.readonlySession({ branch: 'main' });
  return openAndReadZarrita(job, session.store as zarr.Readable);
}

async function openAndReadZarrita(job: Job, store: zarr.Readable): Promise<Record<string, number>> {
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
  const run = { rustytree: runRustytree, zarrita: runZarrita, 'icechunk-js': runIcechunkJs }[job.contender];
  const detail = await run(job);
  const ms = performance.now() - (readStart ?? t0);
  const rssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ms, rssMb, detail })}\n`);
  // icechunk-js's wasm runtime keeps worker threads alive: leave without waiting for them.
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
