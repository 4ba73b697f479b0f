/**
 * Reads for `rustytree cat`: the selection checked against the variable, then one read, or, when a
 * progress bar may be shown, chunk-aligned blocks read a few at a time so the bar can move.
 * @module
 */
import { RustytreeError } from '../errors';
import { cStrides, type NDArray } from '../ndarray';
import type { Selection, Variable } from '../variable';
import type { SelEntry } from './args';
import { ProgressBar, type ProgressMode } from './progress';

/** The resolved selection of one dimension: `[start, stop)`, and whether an index dropped it. */
export interface DimRange {
  dim: string;
  start: number;
  stop: number;
  dropped: boolean;
}

/** Blocks in flight at once: enough to overlap decoding with requests, few enough to keep memory flat. */
const BLOCK_CONCURRENCY = 4;
/** Upper bound on the number of blocks a read is split into. */
const MAX_BLOCKS = 256;

/**
 * Checks `sel` against `variable` and resolves it to one range per dimension (open ends filled in).
 * @throws {RustytreeError} `ERR_INVALID_SELECTION`: unknown dimension, index or bound out of range, reversed range
 * @example
 * ```ts
 * resolveRanges(dbzh, new Map([['vcp_time', 0], ['azimuth', [2, 5]]]))
 * ```
 */
export function resolveRanges(variable: Variable, sel: ReadonlyMap<string, SelEntry>): DimRange[] {
  const bad = (why: string) => new RustytreeError('ERR_INVALID_SELECTION', `variable ${JSON.stringify(variable.path)}: ${why}`);
  for (const dim of sel.keys()) {
    if (!variable.dims.includes(dim)) {
      throw bad(`no dimension ${JSON.stringify(dim)} (dims: ${variable.dims.join(', ') || 'none'})`);
    }
  }
  return variable.dims.map((dim, d) => {
    const size = variable.shape[d];
    const s = sel.get(dim);
    if (s === undefined) return { dim, start: 0, stop: size, dropped: false };
    if (typeof s === 'number') {
      if (s >= size) throw bad(`index ${s} is out of range for dimension ${dim} of size ${size}`);
      return { dim, start: s, stop: s + 1, dropped: true };
    }
    const start = s[0] ?? 0;
    const stop = s[1] ?? size;
    if (start > size || stop > size) throw bad(`range ${start}:${stop} is out of range for dimension ${dim} of size ${size}`);
    if (stop < start) throw bad(`range ${start}:${stop} of ${dim} is reversed`);
    return { dim, start, stop, dropped: false };
  });
}

/** Options of {@link readRanges}. */
export interface ReadRangesOptions {
  signal: AbortSignal;
  progress: ProgressMode;
  stderr: NodeJS.WriteStream;
}

/**
 * Reads `ranges` of `variable`; the result drops the dimensions an index selected. With a progress bar
 * enabled the region is read as chunk-aligned blocks (shard-aligned for sharded arrays, so no shard
 * index is fetched twice), {@link BLOCK_CONCURRENCY} at a time, and the bar advances per block.
 * @throws {RustytreeError} whatever the reads reject with (`ERR_ABORTED` after Ctrl-C)
 */
export async function readRanges(variable: Variable, ranges: DimRange[], options: ReadRangesOptions): Promise<NDArray> {
  const kept = ranges.filter((r) => !r.dropped);
  const shape = kept.map((r) => r.stop - r.start);
  const total = ranges.reduce((n, r) => n * (r.stop - r.start), 1);
  const bar = new ProgressBar(options.stderr, options.progress, total, variable.name);
  const blocks = bar.enabled && total > 0 ? planBlocks(variable, ranges) : [];
  if (blocks.length <= 1) {
    // fromEntries defines own properties, so a dimension called "__proto__" stays a selection key.
    const selection: Selection = Object.fromEntries(
      ranges.map((r) => [r.dim, r.dropped ? r.start : ([r.start, r.stop] as [number, number])]),
    );
    const out = await variable.read(selection, { signal: options.signal });
    bar.advance(total);
    bar.done();
    return out;
  }
  const fullShape = ranges.map((r) => r.stop - r.start);
  let data: NDArray['data'] | undefined;
  let next = 0;
  const worker = async () => {
    while (next < blocks.length) {
      if (options.signal.aborted) return;
      const block = blocks[next++];
      const selection = Object.fromEntries(block.map(([a, b], d) => [ranges[d].dim, [a, b] as [number, number]]));
      const part = await variable.read(selection, { signal: options.signal });
      data ??= allocateLike(part.data, total);
      copyBlock(
        part.data,
        block.map(([a, b]) => b - a),
        data,
        fullShape,
        block.map(([a], d) => a - ranges[d].start),
      );
      bar.advance(part.data.length);
    }
  };
  try {
    const workers = Array.from({ length: Math.min(BLOCK_CONCURRENCY, blocks.length) }, () =>
      worker().catch((e: unknown) => {
        // One failed block fails the read: the other workers take no further blocks.
        next = blocks.length;
        throw e;
      }),
    );
    await Promise.all(workers);
  } finally {
    bar.done();
  }
  return { data: data!, shape, stride: cStrides(shape), dtype: variable.dtype };
}

/**
 * Splits the region into boxes aligned to the storage grid, leftmost dimensions first, at most
 * {@link MAX_BLOCKS} of them.
 * @returns one `[start, stop)` pair per dimension for each block
 */
export function planBlocks(variable: Variable, ranges: DimRange[]): [number, number][][] {
  const shards = variable.encoding.shards;
  const unit = (d: number) => (Array.isArray(shards) ? Number(shards[d]) : variable.chunks[d]) || 1;
  let blocks: [number, number][][] = [[]];
  ranges.forEach((r, d) => {
    const u = unit(d);
    const first = Math.floor(r.start / u);
    const units = Math.ceil(r.stop / u) - first;
    // Split this dimension only as far as the block budget allows; later dimensions stay whole.
    const perBlock = Math.max(1, Math.ceil((units * blocks.length) / MAX_BLOCKS));
    const pieces: [number, number][] = [];
    for (let k = 0; k < units; k += perBlock) {
      pieces.push([Math.max(r.start, (first + k) * u), Math.min(r.stop, (first + k + perBlock) * u)]);
    }
    if (!pieces.length) pieces.push([r.start, r.stop]);
    blocks = blocks.flatMap((b) => pieces.map((p) => [...b, p]));
  });
  return blocks;
}

function allocateLike(sample: NDArray['data'], length: number): NDArray['data'] {
  if (Array.isArray(sample)) return new Array<string>(length);
  const Ctor = sample.constructor as new (n: number) => Exclude<NDArray['data'], string[]>;
  return new Ctor(length);
}

/** Copies a C-ordered block of `blockShape` into `out` (C order, `outShape`) at `offset`. */
function copyBlock(src: NDArray['data'], blockShape: number[], out: NDArray['data'], outShape: number[], offset: number[]): void {
  const rank = blockShape.length;
  if (rank === 0) {
    (out as unknown[])[0] = (src as ArrayLike<unknown>)[0];
    return;
  }
  const outStride = cStrides(outShape);
  const row = blockShape[rank - 1];
  const rows = blockShape.slice(0, -1).reduce((n, s) => n * s, 1);
  const idx = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let at = offset[rank - 1];
    for (let d = 0; d < rank - 1; d++) at += (idx[d] + offset[d]) * outStride[d];
    const from = r * row;
    if (Array.isArray(src)) {
      for (let i = 0; i < row; i++) (out as string[])[at + i] = src[from + i];
    } else {
      (out as typeof src).set(src.subarray(from, from + row) as never, at);
    }
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < blockShape[d]) break;
      idx[d] = 0;
    }
  }
}
