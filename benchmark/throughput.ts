// Decoded read throughput from local disk, per codec: every moment of every sweep of a store read whole,
// by each contender in a fresh process (benchmark/run-one.mts, task `throughput`), against the local
// limit: the same chunk files decoded by the codec alone on every core (benchmark/codec_limit.py, from the
// bench venv). The median of `runs` runs after a warm-up run that fills the page cache.
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { layoutOf, median, runOnce } from './compare';

const execFileAsync = promisify(execFile);

export interface ThroughputRow {
  store: string;
  codec: string;
  /** `rustytree`, `zarrita`, `limit` (the codec alone) or {@link LIMIT_KEPT}. */
  contender: string;
  /** Median time of the reads (the limit: of the decode pass), ms. */
  ms: number;
  /** Decoded output, bytes. */
  bytes: number;
  mbPerS: number;
  /** Peak RSS of the contender's process, MB (the limit: not measured, 0). */
  rssMb: number;
  /** RSS after the open, before the reads, MB. */
  rssOpenMb?: number;
  /** Every run's time, ms. */
  runs: number[];
  /** The 1-minute load average before the runs: other work on the machine shows here. */
  load: number;
}

/** The limit row whose decoded chunks are all kept (fresh pages, as a reader's output). */
export const LIMIT_KEPT = 'limit, output kept';

/** Store directory name → codec, for the stores make_data.py writes. */
export const CODEC_STORES: Record<string, string> = {
  'klot_consolidated.zarr': 'zstd',
  'klot_blosc.zarr': 'blosc-lz4',
  'klot_gzip.zarr': 'gzip',
};

/**
 * Every contender and the limit on each store of `stores` (names in `dataDir`, consolidated), reading the
 * arrays named `moments` of every group. `python` is the bench venv's interpreter: without it the limit
 * is not measured. `contenders` picks some of `rustytree`, `zarrita` and `limit` (both limit rows).
 */
export async function throughput(
  dataDir: string,
  stores: string[],
  options: { moments: string[]; runs: number; python?: string; contenders?: string[]; log?: (line: string) => void },
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const store of stores) {
    const path = join(dataDir, store);
    const arrays = layoutOf(dataDir, store, '').arrays.filter((p) => options.moments.includes(p.slice(p.lastIndexOf('/') + 1)));
    const codec = CODEC_STORES[store] ?? store;
    for (const contender of (options.contenders ?? ['rustytree', 'zarrita']).filter((c) => c !== 'limit')) {
      const job = { contender, task: 'throughput', path, layout: { groups: [], arrays: [], coords: [], reads: arrays } };
      const load = loadavg()[0];
      await runOnce(job, undefined); // warm-up: page cache
      const runs: number[] = [];
      let rssMb = 0;
      let rssOpenMb = 0;
      let bytes = 0;
      for (let i = 0; i < options.runs; i++) {
        const r = await runOnce(job, undefined);
        runs.push(r.ms);
        rssMb = Math.max(rssMb, r.rssMb);
        rssOpenMb = Math.max(rssOpenMb, r.detail.rssOpenMb);
        bytes = r.detail.bytes;
      }
      const ms = median(runs);
      rows.push({ store, codec, contender, ms, bytes, mbPerS: bytes / 1e6 / (ms / 1000), rssMb, rssOpenMb, runs, load });
    }
    if (options.python && (options.contenders?.includes('limit') ?? true)) {
      // The codec alone, and the codec alone writing into fresh memory that it keeps (as a reader must).
      for (const [contender, keep] of [
        ['limit', false],
        [LIMIT_KEPT, true],
      ] as const) {
        const load = loadavg()[0];
        const job = { store: path, arrays, workers: 2, runs: options.runs, keep };
        const { stdout } = await execFileAsync(options.python, [join(__dirname, 'codec_limit.py'), JSON.stringify(job)], {
          encoding: 'utf8',
          timeout: 600_000,
        });
        const r = JSON.parse(stdout.trim().split('\n').pop()!);
        rows.push({ store, codec, contender, ms: r.ms, bytes: r.decodedBytes, mbPerS: r.mbPerS, rssMb: 0, runs: r.runs, load });
      }
    }
    for (const r of rows.filter((x) => x.store === store)) {
      options.log?.(
        `${store} (${codec}) ${r.contender}: ${r.mbPerS.toFixed(0)} MB/s (${r.ms.toFixed(0)} ms for ${(r.bytes / 1e6).toFixed(0)} MB), RSS ${r.rssMb.toFixed(0)} MB`,
      );
    }
  }
  return rows;
}
