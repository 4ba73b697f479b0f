/**
 * Datasets: the variables of one group, split into coordinates and data variables as xarray does.
 * @module
 */
import * as native from './native';
import { abbreviate, attrText } from './format';
import { Variable } from './variable';

/**
 * Store requests made by one opened source: the open and every read since. Counted at the store wrapper,
 * so a request that the icechunk chunk cache answers is not counted.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const { requests, roundTrips, bytes, peakInFlight } = tree.stats()
 * console.log({ requests, roundTrips, bytes, peakInFlight }) // requests 1, roundTrips 1: consolidated
 * ```
 */
export interface RequestStats {
  /** Whole-object GETs. */
  gets: number;
  /** HEADs (size lookups). */
  heads: number;
  /** Ranged GETs (partial reads of shards). */
  rangedGets: number;
  /** Listings. */
  lists: number;
  /** All requests. */
  requests: number;
  /** Bytes returned. */
  bytes: number;
  /** Requests in flight now. */
  inFlight: number;
  /** Most requests in flight at once. */
  peakInFlight: number;
  /**
   * Round trips as the client sees them: how often a request started while none was in flight. Requests
   * that overlap count once, so a consolidated open is 1 and an icechunk open 2; a lower bound when one
   * wave of requests starts before the previous one has ended.
   */
  roundTrips: number;
}

/**
 * One group's variables (plus, in a tree, the index coordinates it inherits from its ancestors), split
 * into coordinates and data variables as xarray does. Get one from {@link DataTree.dataset} or
 * {@link openDataset}.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const ds = tree.get('/VCP-12/sweep_0')!.dataset
 * console.log(ds.dims)                 // { vcp_time: 2, azimuth: 36, range: 20 }
 * console.log([...ds.coords.keys()])   // ['vcp_time', 'azimuth', 'elevation', 'range', 'time']
 * console.log([...ds.dataVars.keys()]) // ['DBZH', 'RHOHV', 'VRADH', 'ZDR']
 * ```
 */
export class Dataset {
  /** Every variable, coordinates first, by name. */
  readonly variables: ReadonlyMap<string, Variable>;
  /** Coordinates: dimension coordinates, names listed in `coordinates` attributes, inherited indexes. */
  readonly coords: ReadonlyMap<string, Variable>;
  /** Data variables. */
  readonly dataVars: ReadonlyMap<string, Variable>;
  /** Dimension sizes. */
  readonly dims: Record<string, number>;
  /** Group attributes. */
  readonly attrs: Record<string, unknown>;

  /** @internal */
  constructor(
    own: Variable[],
    coordNames: Set<string>,
    inherited: Variable[],
    attrs: Record<string, unknown>,
    private readonly handle: native.NativeTree,
    ancestorDims: Record<string, number> = {},
  ) {
    const coords = new Map<string, Variable>();
    const dataVars = new Map<string, Variable>();
    for (const v of inherited) coords.set(v.name, v);
    for (const v of own) (coordNames.has(v.name) ? coords : dataVars).set(v.name, v);
    this.coords = coords;
    this.dataVars = dataVars;
    this.variables = new Map([...coords, ...dataVars]);
    // In a tree, a node sees its ancestors' dimensions too, as xarray's DataTree does.
    const dims: Record<string, number> = { ...ancestorDims };
    for (const v of this.variables.values()) v.dims.forEach((d, i) => (dims[d] = v.shape[i]));
    this.dims = dims;
    this.attrs = attrs;
  }

  /**
   * Store requests made so far by the open this dataset came from and every read since (the counters are
   * shared by the whole tree).
   * @returns a snapshot of the counters
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { loadCoords: false })
   * console.log(ds.stats().requests) // 1: the root zarr.json holds consolidated metadata
   * ```
   */
  stats(): RequestStats {
    return this.handle.stats();
  }

  /**
   * The variable called `name` (a coordinate or a data variable).
   * @param name - the variable's name in this group
   * @returns the variable, or undefined when there is none
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
   * console.log(ds.get('DBZH')!.dtype) // float64: int16 on disk, unpacked with scale_factor/add_offset
   * console.log(ds.get('nope'))        // undefined
   * ```
   */
  get(name: string): Variable | undefined {
    return this.variables.get(name);
  }

  /**
   * An xarray-like summary: dimensions, coordinates (`*` marks index coordinates), data variables with
   * dtype and shape, and attributes (long values shortened).
   * @example
   * ```ts
   * import { openDataset } from 'rustytree'
   *
   * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12' })
   * console.log(ds.toString())
   * ```
   */
  toString(): string {
    return ['<rustytree.Dataset>', ...summarize(this)].join('\n');
  }
}

/** A 1-D coordinate named after its dimension: an index in xarray's sense. */
export function isIndex(v: Variable): boolean {
  return v.dims.length === 1 && v.dims[0] === v.name;
}

/** Lines of an xarray-like dataset summary (shared with DataTree.toString). */
export function summarize(ds: Dataset): string[] {
  const lines: string[] = [];
  const dims = Object.entries(ds.dims).map(([k, n]) => `${k}: ${n}`);
  lines.push(`Dimensions:  (${dims.join(', ')})`);
  const width = Math.max(0, ...[...ds.variables.keys()].map((k) => k.length));
  const row = (v: Variable, marker: string) =>
    `  ${marker} ${v.name.padEnd(width)}  (${v.dims.join(', ')}) ${v.dtype}${v.shape.length ? ` ${v.shape.join('×')}` : ''}`;
  if (ds.coords.size) {
    lines.push('Coordinates:');
    for (const v of ds.coords.values()) lines.push(row(v, isIndex(v) ? '*' : ' '));
  }
  if (ds.dataVars.size) {
    lines.push('Data variables:');
    for (const v of ds.dataVars.values()) lines.push(row(v, ' '));
  }
  const attrs = Object.entries(ds.attrs);
  if (attrs.length) {
    lines.push('Attributes:');
    for (const [k, val] of attrs) lines.push(`    ${k}: ${abbreviate(attrText(val))}`);
  }
  return lines;
}
