/**
 * Datasets: the variables of one group, split into coordinates and data variables as xarray does.
 * @module
 */
import { RustytreeError, invalidArgument } from './errors';
import type * as native from './native';
import { abbreviate, attrText } from './format';
import { nullRecord } from './safe';
import type { Variable } from './variable';

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
 * console.log(ds.dims)                 // [Object: null prototype] { vcp_time: 2, azimuth: 36, range: 20 }
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
  /**
   * Dimension sizes, by name. A record without a prototype: every key is a dimension of the store (one
   * called `constructor` or `__proto__` included), and nothing is inherited.
   */
  readonly dims: Record<string, number>;
  /** Group attributes (a record without a prototype, as {@link Dataset.dims}; nested objects too). */
  readonly attrs: Record<string, unknown>;

  /** @internal */
  constructor(
    own: Variable[],
    coordNames: Set<string>,
    inherited: Variable[],
    attrs: Record<string, unknown>,
    private readonly handle: native.NativeTree,
    ancestorDims: Record<string, number> = nullRecord(),
  ) {
    const coords = new Map<string, Variable>();
    const dataVars = new Map<string, Variable>();
    for (const v of inherited) coords.set(v.name, v);
    for (const v of own) (coordNames.has(v.name) ? coords : dataVars).set(v.name, v);
    this.coords = coords;
    this.dataVars = dataVars;
    this.variables = new Map([...coords, ...dataVars]);
    this.dims = dimensionSizes(this.variables.values(), ancestorDims);
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
    if (typeof name !== 'string') invalidArgument('Dataset.get needs a variable name (a string)');
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

/**
 * A group's dimension sizes: its ancestors' (in a tree, a node sees them too, as xarray's DataTree does;
 * their agreement with the group is checked by the open), then its variables', coordinates first. xarray refuses a group
 * whose variables disagree on a dimension's size ("conflicting sizes for dimension"), and one variable
 * naming a dimension twice (of two sizes it is the same conflict; of one size xarray warns that nothing
 * will work, and a read by name could not tell the axes apart): both are `ERR_INVALID_METADATA` here.
 */
function dimensionSizes(variables: Iterable<Variable>, ancestorDims: Record<string, number>): Record<string, number> {
  const dims = nullRecord<number>();
  for (const [d, n] of Object.entries(ancestorDims)) dims[d] = n;
  const sizedBy = new Map<string, Variable>();
  for (const v of variables) {
    v.dims.forEach((d, i) => {
      if (v.dims.indexOf(d) !== i) {
        throw new RustytreeError(
          'ERR_INVALID_METADATA',
          `array ${JSON.stringify(v.path)} names dimension ${JSON.stringify(d)} more than once (dimension_names ${JSON.stringify(v.dims)})`,
        );
      }
      const first = sizedBy.get(d);
      const size = first?.shape[first.dims.indexOf(d)];
      if (first && size !== v.shape[i]) {
        throw new RustytreeError(
          'ERR_INVALID_METADATA',
          `conflicting sizes for dimension ${JSON.stringify(d)}: ${v.shape[i]} in ${JSON.stringify(v.path)} and ${size} in ${JSON.stringify(first.path)}`,
        );
      }
      if (!first) sizedBy.set(d, v);
      dims[d] = v.shape[i];
    });
  }
  return dims;
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
  // A loop, not Math.max(...names): a spread of 120,000 arguments overflows the stack.
  let width = 0;
  for (const k of ds.variables.keys()) width = Math.max(width, k.length);
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
