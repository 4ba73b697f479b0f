/**
 * Variables: one array with its dimensions, decoded dtype, attributes and encoding. Values are read
 * lazily, except index coordinates, which the open loads.
 * @module
 */
import { signalFired, withSignal } from './cancel';
import { RustytreeError, invalidArgument } from './errors';
import { type NDArray, cStrides } from './ndarray';
import type * as native from './native';
import { ownList, readInput, shown } from './safe';

/**
 * A selection by dimension name: `{ dim: index }` drops the dimension; `{ dim: [start, stop] }` keeps it
 * (stop exclusive). Dimensions not named are read whole. Indexes are integers within the dimension
 * (no negative indexes, no steps); anything else is `ERR_INVALID_SELECTION`.
 * @example
 * ```ts
 * import { openDataset, type Selection } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
 * const firstTenRays: Selection = { vcp_time: 0, azimuth: [0, 10] }
 * console.log((await ds.get('DBZH')!.read(firstTenRays)).shape) // [10, 20]
 * ```
 */
export type Selection = Record<string, number | [start: number, stop: number]>;

/**
 * Options of a read.
 * @example
 * ```ts
 * import { openDataset } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
 * const scan = await ds.get('DBZH')!.read({ vcp_time: 1 }, { signal: AbortSignal.timeout(5_000) })
 * ```
 */
export interface ReadOptions {
  /** Aborts the read: it rejects with `ERR_ABORTED` and its requests are dropped. */
  signal?: AbortSignal;
}

/** Metadata of one variable as the native layer reports it. */
export interface VariableInfo {
  name: string;
  store_path: string;
  dims: string[];
  shape: number[];
  dtype: string;
  chunks: number[];
  attrs: Record<string, unknown>;
  encoding: Record<string, unknown>;
  is_coord: boolean;
}

/**
 * A variable: an array with named dimensions, decoded as xarray decodes it. Its metadata is in memory
 * after the open; values are read on demand with {@link Variable.read} or {@link Variable.readChunk}.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!
 * console.log(dbzh.dims, dbzh.shape, dbzh.dtype) // ['vcp_time', 'azimuth', 'range'] [2, 36, 20] float64
 * console.log(dbzh.attrs.units, dbzh.encoding.scale_factor) // dBZ 0.5
 * const ray = await dbzh.read({ vcp_time: 0, azimuth: 3 }) // shape [20]: one ray along range
 * ```
 */
export class Variable {
  /** Name within its group. */
  readonly name: string;
  /** Store path of the array, e.g. `/VCP-12/sweep_0/DBZH`. */
  readonly path: string;
  /** Dimension names. */
  readonly dims: string[];
  /** Shape. */
  readonly shape: number[];
  /** Decoded numpy dtype (`float64` for packed int16, `datetime64[ns]` for CF times). */
  readonly dtype: string;
  /** Chunk shape reads are addressed in (inner chunks for sharded arrays). */
  readonly chunks: number[];
  /** Attributes, without the CF attributes that were applied. */
  readonly attrs: Record<string, unknown>;
  /** Applied CF attributes and storage details (stored dtype, codecs, fill value, chunks, shards). */
  readonly encoding: Record<string, unknown>;
  /** Values loaded during the open (index coordinates), else undefined. */
  values?: NDArray;

  /** @internal */
  constructor(
    info: VariableInfo,
    private readonly tree: native.NativeTree,
  ) {
    this.name = info.name;
    this.path = info.store_path;
    this.dims = info.dims;
    this.shape = info.shape;
    this.dtype = info.dtype;
    this.chunks = info.chunks;
    this.attrs = info.attrs;
    this.encoding = info.encoding;
  }

  /**
   * Reads (a selection of) the decoded values. Only the chunks the selection touches are fetched, all
   * concurrently (within `maxConcurrency`); for sharded arrays only the inner chunks needed.
   * @param selection - per dimension name: an index (dimension dropped) or `[start, stop)` (kept)
   * @param options - `signal` to abort the read
   * @returns the values, C-ordered; a variable loaded at open returns {@link Variable.values} for an empty
   *   selection without a request
   * @throws {@link RustytreeError} `ERR_INVALID_SELECTION` (unknown dimension, out of range),
   *   `ERR_UNSUPPORTED_CODEC`, `ERR_UNSUPPORTED_DTYPE`, `ERR_DECODE`, `ERR_CF_DECODE`, `ERR_STORAGE`,
   *   `ERR_PERMISSION_DENIED`, `ERR_ABORTED`
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
   * const block = await ds.get('DBZH')!.read({ vcp_time: 0, azimuth: [0, 10] })
   * console.log(block.shape, block.stride, block.data.length) // [10, 20] [20, 1] 200
   * ```
   */
  async read(selection: Selection = {}, options: ReadOptions = {}): Promise<NDArray> {
    const wanted = ownSelection(this.path, selection);
    const signal = readSignal(options);
    if (this.values && wanted.size === 0 && !signalFired(signal)) return this.values;
    const start: number[] = [];
    const stop: number[] = [];
    const shape: number[] = [];
    for (const key of wanted.keys()) {
      if (!this.dims.includes(key)) {
        throw new RustytreeError(
          'ERR_INVALID_SELECTION',
          `variable ${JSON.stringify(this.path)} has no dimension ${JSON.stringify(key)} (dims: ${this.dims.join(', ')})`,
        );
      }
    }
    this.dims.forEach((dim, d) => {
      const size = this.shape[d];
      const sel = wanted.get(dim);
      if (sel === undefined) {
        start.push(0);
        stop.push(size);
        shape.push(size);
      } else if (typeof sel === 'number') {
        checkIndex(this.path, dim, sel, size, false);
        start.push(sel);
        stop.push(sel + 1);
      } else if (Array.isArray(sel) && sel.length === 2) {
        const [a, b]: unknown[] = sel;
        checkIndex(this.path, dim, a, size, true);
        checkIndex(this.path, dim, b, size, true);
        if (b < a) throw selectionError(this.path, `range [${a}, ${b}) of ${dim} is reversed`);
        start.push(a);
        stop.push(b);
        shape.push(b - a);
      } else {
        throw selectionError(this.path, `selection of ${dim} must be an index or [start, stop]`);
      }
    });
    return this.readRegion(start, stop, shape, signal);
  }

  /**
   * Reads one chunk (an inner chunk for sharded arrays), decoded and trimmed to the array's bounds.
   * {@link Variable.chunks} gives the chunk shape; a chunk never written reads as the fill value.
   * @param chunkCoords - chunk grid coordinates, one per dimension
   * @param options - `signal` to abort the read
   * @returns the decoded chunk
   * @throws {@link RustytreeError} `ERR_INVALID_SELECTION` for coordinates outside the chunk grid, and
   *   the read errors of {@link Variable.read}
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
   * const dbzh = ds.get('DBZH')!
   * console.log(dbzh.chunks) // [1, 10, 8]
   * const edge = await dbzh.readChunk([0, 3, 2])
   * console.log(edge.shape) // [1, 6, 4]: trimmed at the array's edge (36 azimuths, 20 gates)
   * ```
   */
  async readChunk(chunkCoords: number[], options: ReadOptions = {}): Promise<NDArray> {
    const signal = readSignal(options);
    const coords = ownList('chunk coordinates', chunkCoords);
    if (!coords || coords.length !== this.shape.length) {
      throw selectionError(this.path, `chunk coordinates need ${this.shape.length} entries`);
    }
    const start: number[] = [];
    const stop: number[] = [];
    coords.forEach((c, d) => {
      const n = Math.ceil(this.shape[d] / this.chunks[d]);
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= n) {
        throw selectionError(this.path, `chunk coordinate ${shown(c)} is outside the chunk grid (0..${n - 1}) of dimension ${d}`);
      }
      start.push(c * this.chunks[d]);
      stop.push(Math.min((c + 1) * this.chunks[d], this.shape[d]));
    });
    return this.readRegion(
      start,
      stop,
      stop.map((b, d) => b - start[d]),
      signal,
    );
  }

  private async readRegion(start: number[], stop: number[], shape: number[], signal: AbortSignal | undefined): Promise<NDArray> {
    const out = await withSignal(signal, `reading ${this.path}`, (token) => this.tree.read(this.path, start, stop, token));
    return { data: out.data, shape, stride: cStrides(shape), dtype: this.dtype };
  }

  /**
   * One line: name, dims, dtype, shape.
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
   * console.log(ds.get('DBZH')!.toString()) // <rustytree.Variable DBZH (vcp_time, azimuth, range) float64 [2, 36, 20]>
   * ```
   */
  toString(): string {
    return `<rustytree.Variable ${this.name} (${this.dims.join(', ')}) ${this.dtype} [${this.shape.join(', ')}]>`;
  }
}

function selectionError(path: string, why: string): RustytreeError {
  return new RustytreeError('ERR_INVALID_SELECTION', `variable ${JSON.stringify(path)}: ${why}`);
}

function checkIndex(path: string, dim: string, i: unknown, size: number, isBound: boolean): asserts i is number {
  const max = isBound ? size : size - 1;
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i > max) {
    throw selectionError(path, `index ${shown(i)} is out of range for dimension ${dim} of size ${size}`);
  }
}

/**
 * The caller's selection, read once: own keys only (a dimension called `constructor` must not pick up
 * Object.prototype's), ranges copied (a Proxy's traps run here, once).
 */
function ownSelection(path: string, selection: Selection): Map<string, unknown> {
  if (selection === null || typeof selection !== 'object' || readInput('the selection', () => Array.isArray(selection))) {
    throw selectionError(path, 'a selection is an object mapping dimension names to an index or [start, stop]');
  }
  return readInput('the selection', () => {
    const out = new Map<string, unknown>();
    for (const key of Object.keys(selection)) {
      const value: unknown = selection[key];
      out.set(key, Array.isArray(value) ? Array.from(value as unknown[]) : value);
    }
    return out;
  });
}

/** The `signal` of read options, which must be an object (the signal is checked where it is used). */
function readSignal(options: ReadOptions): AbortSignal | undefined {
  if (options === null || typeof options !== 'object') invalidArgument('read options must be an object');
  return readInput('read options', () => options.signal);
}
