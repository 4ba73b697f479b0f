/**
 * The entry points: open a tree or one dataset in a single call into Rust.
 * @module
 */
import { withSignal } from './cancel';
import { DataTree } from './datatree';
import { Dataset, isIndex } from './dataset';
import { RustytreeError, invalidArgument, scrubbed } from './errors';
import { type NDArray, cStrides } from './ndarray';
import * as native from './native';
import { nullRecord, ownList, ownRecord, readInput } from './safe';
import { type ReadOptions, Variable, type VariableInfo } from './variable';

/**
 * Options of {@link openDatatree} and {@link openDataset}. Every option is optional; an unknown key, or a
 * value of the wrong type, rejects with `ERR_INVALID_ARGUMENT` before anything is read.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr', {
 *   group: '/VCP-12',          // re-root the tree at this group
 *   groupFilter: 'sweep_[01]', // then keep only these groups (relative to the new root)
 *   loadCoords: false,         // leave index coordinates for the first read
 *   maxConcurrency: 16,
 *   signal: AbortSignal.timeout(10_000),
 * })
 * console.log([...tree.subtree].map((node) => node.path)) // ['/', '/sweep_0', '/sweep_1']
 * ```
 */
export interface OpenOptions {
  /** Group to open (`"/VCP-12"`; `//` and trailing `/` are normalised); the result is rooted there. */
  group?: string;
  /** Glob on group paths (`"/*\/sweep_0"`): matches plus ancestors; other subtrees are not fetched. */
  groupFilter?: string;
  /** Default true; false returns stored values and dtypes. */
  decodeCf?: boolean;
  /** `_FillValue`/`missing_value` masking and `scale_factor`/`add_offset` (default true). */
  maskAndScale?: boolean;
  /** CF datetimes to datetime64[ns] (default true). */
  decodeTimes?: boolean;
  /** Timedeltas: default follows xarray (only with its `dtype: timedelta64` attribute); true: any units. */
  decodeTimedelta?: boolean;
  /** Read 1-D dimension coordinates during the open (default true). */
  loadCoords?: boolean;
  /** A node's dataset sees its ancestors' index coordinates, as in xarray (default true). */
  inheritCoords?: boolean;
  /** Cap on concurrent store requests (default 64 for a local directory, 256 for object storage and HTTP). */
  maxConcurrency?: number;
  /** Aborts the open with `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** `"zarr"` or `"icechunk"` to force the format; by default an icechunk repository is detected. */
  engine?: 'zarr' | 'icechunk';
  /** icechunk: the branch to open (default `"main"`). */
  branch?: string;
  /** icechunk: a tag to open (not with `branch`, `snapshotId` or `asOf`). */
  tag?: string;
  /** icechunk: a snapshot id to open (not with `branch`, `tag` or `asOf`). */
  snapshotId?: string;
  /** icechunk: the branch's state at this time (with `branch`, default `"main"`). */
  asOf?: Date | string;
  /**
   * Object-storage settings for `s3://`, `gs://`, `az://`/`abfs://` and `http(s)://` sources: region,
   * endpoint, credentials, timeouts and retries (see {@link StorageOptions}). Unknown keys are rejected.
   */
  storageOptions?: StorageOptions;
  /**
   * icechunk: the repository's virtual chunk containers whose chunks may be read, by URL prefix
   * (`["s3://bucket/", "file:///data/"]`), or with S3 credentials (`{ prefix, accessKeyId, secretAccessKey }`,
   * `{ prefix, anonymous: true }`). Without credentials, object-store containers use their stored
   * `anonymous` setting or credentials from the environment. Reads from a container not listed reject
   * with `ERR_PERMISSION_DENIED` naming it.
   */
  virtualChunkContainers?: (string | VirtualChunkAccess)[];
  /** icechunk: cache sizes of the read-only session (defaults: icechunk's). */
  icechunkCaching?: IcechunkCaching;
}

/**
 * An authorised virtual chunk container of an icechunk repository, with settings for reaching it.
 * Credentials and endpoint overrides apply to S3 containers only.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * // fixtures/icechunk/virtual.icechunk declares an s3://rustytree-virtual/ container.
 * const tree = await openDatatree('fixtures/icechunk/virtual.icechunk', {
 *   virtualChunkContainers: [{ prefix: 's3://rustytree-virtual/', anonymous: true }],
 * })
 * console.log(tree.dataset.get('temp')!.shape) // [4]
 * ```
 */
export interface VirtualChunkAccess {
  /** The container's URL prefix, as stored in the repository's config. */
  prefix: string;
  /** Unsigned requests. */
  anonymous?: boolean;
  /** S3 static credentials. */
  accessKeyId?: string;
  /** S3 static credentials. */
  secretAccessKey?: string;
  /** S3 session token. */
  sessionToken?: string;
  /** S3 endpoint replacing the stored one (an S3-compatible service or a mirror). */
  endpoint?: string;
  /** S3 region replacing the stored one. */
  region?: string;
  /** Allow an `http://` endpoint. */
  allowHttp?: boolean;
}

/**
 * icechunk's cache sizes for a read-only session; keys left out keep icechunk's defaults.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * // 16 MiB of chunk bytes: reading the same chunk again costs no request.
 * const tree = await openDatatree('fixtures/icechunk/small.icechunk', { icechunkCaching: { chunkBytes: 16 << 20 } })
 * const values = tree.dataset.get('values')!
 * await values.readChunk([0])
 * const before = tree.stats().requests
 * await values.readChunk([0])
 * console.log(tree.stats().requests - before) // 0
 * ```
 */
export interface IcechunkCaching {
  /** Snapshot nodes kept. */
  snapshotNodes?: number;
  /** Manifest chunk references kept. */
  chunkRefs?: number;
  /** Transaction-log changes kept. */
  transactionChanges?: number;
  /** Bytes of attributes kept. */
  attributeBytes?: number;
  /** Bytes of chunk data kept (0 by default): repeated reads of a chunk are served from memory. */
  chunkBytes?: number;
}

/**
 * Settings of an object store. Keys that do not apply to the source's scheme are rejected, and
 * credential values never appear in error messages. Without credentials, the standard environment
 * variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`) and, for S3, the shared AWS profile files are used.
 * `object_store`'s own snake_case keys (`aws_request_payer`, `google_service_account`, ...) are accepted too.
 * @example
 * ```ts
 * // Needs network access and real buckets: the bucket names here are examples.
 * import { openDatatree } from 'rustytree'
 *
 * // A public bucket: unsigned requests.
 * await openDatatree('s3://example-public-bucket/KLOT.icechunk', { storageOptions: { region: 'us-east-1', anonymous: true } })
 * // MinIO or another S3-compatible service.
 * await openDatatree('s3://bucket/store.zarr', {
 *   storageOptions: { endpoint: 'http://127.0.0.1:9000', allowHttp: true, accessKeyId: 'KEY', secretAccessKey: 'SECRET' },
 * })
 * ```
 */
export interface StorageOptions {
  /** S3 region (`us-east-1`). */
  region?: string;
  /** Service endpoint: an S3-compatible server (MinIO, R2), a GCS base URL, an Azure blob endpoint. */
  endpoint?: string;
  /** Unsigned requests, for public data (S3, GCS, Azure). */
  anonymous?: boolean;
  /** Allow `http://` endpoints (default false, except for `http://` sources). */
  allowHttp?: boolean;
  /** Accept TLS certificates that do not verify (testing only). */
  allowInvalidCertificates?: boolean;
  /** S3 static credentials. */
  accessKeyId?: string;
  /** S3 static credentials. */
  secretAccessKey?: string;
  /** S3 session token (temporary credentials). */
  sessionToken?: string;
  /** S3 virtual-hosted-style requests (`bucket.host`) instead of path style. */
  virtualHostedStyle?: boolean;
  /** S3 requester-pays buckets. */
  requestPayer?: boolean;
  /** GCS service account key (the JSON text). */
  serviceAccountKey?: string;
  /** GCS service account key file path. */
  serviceAccountPath?: string;
  /** GCS application default credentials file path. */
  applicationCredentials?: string;
  /** GCS or Azure OAuth bearer token. */
  bearerToken?: string;
  /** Azure storage account. */
  accountName?: string;
  /** Azure shared key. */
  accountKey?: string;
  /** Azure SAS token. */
  sasToken?: string;
  /** Azure: use the Azurite emulator's well-known account and endpoint. */
  useEmulator?: boolean;
  /** Azure service principal. */
  clientId?: string;
  /** Azure service principal. */
  clientSecret?: string;
  /** Azure service principal. */
  tenantId?: string;
  /** Per-request timeout, ms (default 30 000). */
  timeout?: number;
  /** Connection timeout, ms (default 5 000). */
  connectTimeout?: number;
  /** Retries of throttled (429/503), failed (5xx) or dropped requests (default 10). */
  maxRetries?: number;
  /** Give up retrying after this long, ms (default 180 000). */
  retryTimeout?: number;
  /** First retry backoff, ms (default 100; doubles up to `maxBackoff`). */
  initialBackoff?: number;
  /** Longest retry backoff, ms (default 15 000). */
  maxBackoff?: number;
  /** Any other key: passed to `object_store` as a configuration key of the source's scheme. */
  [objectStoreKey: string]: string | number | boolean | undefined;
}

interface NodeInfo {
  path: string;
  attrs: Record<string, unknown>;
  children: string[];
  variables: VariableInfo[];
}

interface TreeInfo {
  source: string;
  root: string;
  consolidated: boolean;
  nodes: NodeInfo[];
  warnings: string[];
  snapshot_id: string | null;
}

const KNOWN_OPTIONS = new Set([
  'group',
  'groupFilter',
  'decodeCf',
  'maskAndScale',
  'decodeTimes',
  'decodeTimedelta',
  'loadCoords',
  'inheritCoords',
  'maxConcurrency',
  'signal',
  'engine',
  'branch',
  'tag',
  'snapshotId',
  'asOf',
  'storageOptions',
  'virtualChunkContainers',
  'icechunkCaching',
]);

const VIRTUAL_ACCESS_KEYS = new Set([
  'prefix',
  'anonymous',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'endpoint',
  'region',
  'allowHttp',
]);
const CACHING_KEYS = new Set(['snapshotNodes', 'chunkRefs', 'transactionChanges', 'attributeBytes', 'chunkBytes']);

function nativeVirtualAccess(list: OpenOptions['virtualChunkContainers']): native.NativeVirtualAccess[] | undefined {
  if (list === undefined) return undefined;
  const entries = ownList('virtualChunkContainers', list);
  if (!entries) invalidArgument('virtualChunkContainers must be an array');
  return entries.map((entry) => {
    if (typeof entry === 'string') return { prefix: entry };
    const fields = entry !== null && typeof entry === 'object' ? ownRecord('virtualChunkContainers entry', entry) : undefined;
    if (!fields || typeof fields.prefix !== 'string') {
      invalidArgument('virtualChunkContainers entries are URL prefixes or { prefix, ... } objects');
    }
    for (const [key, value] of Object.entries(fields)) {
      if (!VIRTUAL_ACCESS_KEYS.has(key)) invalidArgument(`virtualChunkContainers: unknown key ${JSON.stringify(key)}`);
      const want = key === 'anonymous' || key === 'allowHttp' ? 'boolean' : 'string';
      if (value !== undefined && typeof value !== want) invalidArgument(`virtualChunkContainers: ${key} must be a ${want}`);
    }
    return fields as unknown as native.NativeVirtualAccess;
  });
}

function nativeCaching(caching: IcechunkCaching | undefined): native.NativeCaching | undefined {
  if (caching === undefined) return undefined;
  if (caching === null || typeof caching !== 'object') invalidArgument('icechunkCaching must be an object');
  const fields = ownRecord('icechunkCaching', caching);
  for (const [key, value] of Object.entries(fields)) {
    if (!CACHING_KEYS.has(key)) invalidArgument(`icechunkCaching: unknown key ${JSON.stringify(key)}`);
    if (value !== undefined && typeof value !== 'number') invalidArgument(`icechunkCaching.${key} must be a number`);
  }
  return fields as native.NativeCaching;
}

/** Storage option values cross into Rust as strings; Rust checks names and meanings per scheme. */
function nativeStorageOptions(options: StorageOptions | undefined): Record<string, string> | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || readInput('storageOptions', () => Array.isArray(options))) {
    invalidArgument('storageOptions must be an object');
  }
  // Null-prototype: a key `__proto__` is a key (Rust rejects it as unknown), not the prototype.
  const out = nullRecord<string>();
  for (const [key, value] of Object.entries(ownRecord('storageOptions', options))) {
    if (value === undefined) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) invalidArgument(`storageOptions.${key} must be finite`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      invalidArgument(`storageOptions.${key} must be a string, number or boolean`);
    }
    out[key] = String(value);
  }
  return out;
}

function checkOptions(options: OpenOptions): void {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) invalidArgument(`unknown option ${JSON.stringify(key)}`);
  }
  for (const key of ['group', 'groupFilter', 'branch', 'tag', 'snapshotId'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') invalidArgument(`${key} must be a string`);
  }
  for (const key of ['decodeCf', 'maskAndScale', 'decodeTimes', 'decodeTimedelta', 'loadCoords', 'inheritCoords'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') invalidArgument(`${key} must be a boolean`);
  }
  if (options.engine !== undefined && options.engine !== 'zarr' && options.engine !== 'icechunk') {
    invalidArgument('engine must be "zarr" or "icechunk"');
  }
  if (
    options.asOf !== undefined &&
    !(options.asOf instanceof Date && !Number.isNaN(options.asOf.getTime())) &&
    typeof options.asOf !== 'string'
  ) {
    invalidArgument('asOf must be a valid Date or an RFC 3339 string');
  }
  const n = options.maxConcurrency;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 65536)) {
    invalidArgument('maxConcurrency must be an integer between 1 and 65536');
  }
}

/**
 * The caller's options, read once (see ./safe.ts) and checked, as the native layer takes them, with the
 * signal and the storage options (for scrubbing the messages made here).
 */
function nativeOpenOptions(given: OpenOptions, descend: boolean) {
  if (given === null || typeof given !== 'object') invalidArgument('options must be an object');
  const options = ownRecord('options', given) as OpenOptions;
  if (!descend && options.groupFilter !== undefined) invalidArgument('groupFilter applies to openDatatree only');
  checkOptions(options);
  const storageOptions = nativeStorageOptions(options.storageOptions);
  const nativeOptions: native.NativeOpenOptions = {
    group: options.group,
    groupFilter: options.groupFilter,
    decodeCf: options.decodeCf,
    maskAndScale: options.maskAndScale,
    decodeTimes: options.decodeTimes,
    decodeTimedelta: options.decodeTimedelta,
    loadCoords: options.loadCoords,
    maxConcurrency: options.maxConcurrency,
    descend,
    engine: options.engine,
    branch: options.branch,
    tag: options.tag,
    snapshotId: options.snapshotId,
    asOf: options.asOf instanceof Date ? options.asOf.toISOString() : options.asOf,
    storageOptions,
    virtualChunkContainers: nativeVirtualAccess(options.virtualChunkContainers),
    icechunkCaching: nativeCaching(options.icechunkCaching),
  };
  return { nativeOptions, signal: options.signal, storageOptions, inheritCoords: options.inheritCoords ?? true };
}

async function openNative(source: string, given: OpenOptions, descend: boolean) {
  if (typeof source !== 'string') invalidArgument('source must be a string');
  // Date methods on a Proxy of a Date throw too: every use of the options is under the guard.
  const { nativeOptions, signal, storageOptions, inheritCoords } = readInput('options', () => nativeOpenOptions(given, descend));
  return withSignal(signal, `opening ${scrubbed(source, storageOptions)}`, async (token) => {
    const tree = await native.openTree(source, nativeOptions, token);
    const info = parseMetadata(tree.metadata());
    const values = new Map<string, NDArray>();
    for (const c of tree.takeCoords()) {
      const shape = [c.data.length];
      values.set(c.path, { data: c.data, shape, stride: cStrides(shape), dtype: '' });
    }
    return { tree, info, values, inheritCoords };
  });
}

const MARK = '\u0000rustytree:';
const FLOAT_MARK = `${MARK}float:`;
const BIGINT_MARK = `${MARK}bigint:`;
/** A stored string that began with {@link MARK}, escaped by the native layer: the rest is the string. */
const STRING_MARK = `${MARK}string:`;
/** How a mark reads inside JSON text: its NUL escaped. */
const MARK_IN_JSON = JSON.stringify(MARK).slice(1, -1);
const FLOATS = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/**
 * Parses the native layer's metadata and makes what came from the store safe to hand out: attributes and
 * encodings become null-prototype records, nested ones too (a store name is a key like any other, even
 * `constructor` or `__proto__`), and marked strings are revived there. Marks exist only in attributes,
 * encodings and dimension names, so names and paths are never revived. Without a mark in the text (a NUL
 * inside a JSON string is always written escaped, so a mark shows as `\u0000rustytree:`) no string is
 * looked at: a `JSON.parse` reviver would cost several times the parse (about 18 ms instead of 5 for a
 * 1,591-node tree).
 */
function parseMetadata(json: string): TreeInfo {
  const info = JSON.parse(json) as TreeInfo;
  const marked = json.includes(MARK_IN_JSON);
  for (const node of info.nodes) {
    node.attrs = storeRecord(node.attrs, marked);
    for (const v of node.variables) {
      v.attrs = storeRecord(v.attrs, marked);
      v.encoding = storeRecord(v.encoding, marked);
      if (marked) v.dims = v.dims.map(unescapeString);
    }
  }
  return info;
}

/**
 * `record` (parsed JSON) in place, without recursion: objects lose their prototype and, when `marked`,
 * marked strings become the values they stand for.
 */
function storeRecord(record: Record<string, unknown>, marked: boolean): Record<string, unknown> {
  Object.setPrototypeOf(record, null);
  const pending: (Record<string, unknown> | unknown[])[] = [record];
  const visit = (value: unknown): unknown => {
    if (typeof value === 'string') return marked ? revive(value) : value;
    if (value !== null && typeof value === 'object') {
      if (!Array.isArray(value)) Object.setPrototypeOf(value, null);
      pending.push(value as Record<string, unknown>);
    }
    return value;
  };
  while (pending.length) {
    const holder = pending.pop()!;
    if (Array.isArray(holder)) {
      for (let i = 0; i < holder.length; i++) holder[i] = visit(holder[i]);
    } else {
      for (const key of Object.keys(holder)) holder[key] = visit(holder[key]);
    }
  }
  return record;
}

/**
 * The value a marked string stands for: a non-finite float (zarr-python writes bare `NaN`), an integer
 * beyond 2^53 (as a BigInt, exact), or an escaped stored string. Any other string is itself.
 */
function revive(value: string): unknown {
  if (value.charCodeAt(0) !== 0 || !value.startsWith(MARK)) return value;
  if (value.startsWith(STRING_MARK)) return value.slice(STRING_MARK.length);
  const float = value.startsWith(FLOAT_MARK) ? FLOATS.get(value.slice(FLOAT_MARK.length)) : undefined;
  if (float !== undefined) return float;
  const digits = value.startsWith(BIGINT_MARK) ? value.slice(BIGINT_MARK.length) : '';
  return /^-?\d+$/.test(digits) ? BigInt(digits) : value;
}

/** A dimension name as stored: names are escaped like any stored string, and are never numbers. */
function unescapeString(name: string): string {
  return name.startsWith(STRING_MARK) ? name.slice(STRING_MARK.length) : name;
}

function variablesOf(node: NodeInfo, tree: native.NativeTree, values: Map<string, NDArray>): Variable[] {
  return node.variables.map((info) => {
    checkSizes(info);
    const v = new Variable(info, tree);
    const loaded = values.get(info.store_path);
    if (loaded) v.values = { ...loaded, dtype: info.dtype };
    return v;
  });
}

/**
 * Sizes must be exact in JavaScript. JSON carries a shape as numbers, which `JSON.parse` rounds beyond 2^53
 * (9007199254740993 becomes 9007199254740992): past 2^53 - 1 a size cannot be told from its neighbours, so
 * reads would address elements other than those asked for. Such an array is refused rather than shown with
 * the wrong size; its shard shape (a BigInt in `encoding`) too.
 */
function checkSizes(info: VariableInfo): void {
  const shards = info.encoding.shards;
  const lists: [string, unknown[]][] = [
    ['shape', info.shape],
    ['chunk shape', info.chunks],
    ['shard shape', Array.isArray(shards) ? shards : []],
  ];
  for (const [what, sizes] of lists) {
    if (!sizes.every((n) => Number.isSafeInteger(n))) {
      throw new RustytreeError(
        'ERR_INVALID_METADATA',
        `array ${JSON.stringify(info.store_path)}: its ${what} has a size beyond 2^53 - 1, the largest JavaScript holds exactly`,
      );
    }
  }
}

function coordNamesOf(node: NodeInfo): Set<string> {
  return new Set(node.variables.filter((v) => v.is_coord).map((v) => v.name));
}

/**
 * Opens a Zarr v3 hierarchy or an icechunk repository as a {@link DataTree}, walking every group in one
 * native call. Index coordinates are loaded during the open (see {@link OpenOptions.loadCoords}); every
 * other variable is read lazily.
 * @param source - a Zarr v3 store or icechunk repository: a local path, `file://`, `s3://bucket/prefix`,
 *   `gs://…`, `az://container/prefix` (or `abfs://`), or `http(s)://` (consolidated metadata only)
 * @param options - see {@link OpenOptions}
 * @returns the root node (the node at `options.group`, re-rooted, when a group is given)
 * @throws {@link RustytreeError} `ERR_NOT_FOUND` (no store, no root `zarr.json`, missing group, unknown
 *   branch, tag or snapshot), `ERR_INVALID_SOURCE`, `ERR_INVALID_METADATA` (also a node whose dimension
 *   sizes disagree with its ancestors'), `ERR_UNSUPPORTED_FORMAT` (Zarr v2), `ERR_INVALID_ARGUMENT`,
 *   `ERR_STORAGE`, `ERR_PERMISSION_DENIED`, `ERR_ABORTED`
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr', { groupFilter: '/VCP-12/sweep_?' })
 * console.log(tree.toString())
 * const radar = await openDatatree('fixtures/icechunk/radar.icechunk', { tag: 'v1' })
 * console.log(radar.snapshotId)
 * ```
 */
export async function openDatatree(source: string, options: OpenOptions = {}): Promise<DataTree> {
  const { tree, info, values, inheritCoords: inherit } = await openNative(source, options, true);
  const byPath = new Map<string, DataTree>();
  // Nodes arrive sorted by path, so parents come before children.
  for (const node of info.nodes) {
    const parentPath = node.path === '/' ? undefined : node.path.slice(0, node.path.lastIndexOf('/')) || '/';
    const parent = parentPath === undefined ? undefined : byPath.get(parentPath);
    const name = node.path === '/' ? '' : node.path.slice(node.path.lastIndexOf('/') + 1);
    const dt = new DataTree(name, node.path, parent, node.attrs, info.warnings, info.snapshot_id ?? undefined);
    const own = variablesOf(node, tree, values);
    const ownNames = new Set(own.map((v) => v.name));
    const inherited: Variable[] = [];
    if (inherit && parent) {
      // xarray's DataTree inherits only indexed (dimension) coordinates from ancestors.
      for (const v of parent.dataset.coords.values()) {
        if (isIndex(v) && !ownNames.has(v.name)) inherited.push(v);
      }
    }
    const ancestorDims = inherit && parent ? parent.dataset.dims : nullRecord<number>();
    if (inherit) checkAlignment(node.path, own, ancestorDims);
    dt.dataset = new Dataset(own, coordNamesOf(node), inherited, node.attrs, tree, ancestorDims);
    parent?.addChild(dt);
    byPath.set(node.path, dt);
  }
  const root = byPath.get('/');
  if (!root) throw noRoot();
  return root;
}

/** The native layer always returns the opened group as `/`; without it, rustytree has a bug. */
function noRoot(): RustytreeError {
  return new RustytreeError('ERR_INTERNAL', 'the native layer returned no root node; this is a bug in rustytree');
}

/** xarray refuses a tree whose node disagrees with an ancestor on a dimension's size; so do we. */
function checkAlignment(path: string, own: Variable[], ancestorDims: Record<string, number>): void {
  for (const v of own) {
    v.dims.forEach((dim, i) => {
      // Own keys only (dims are null-prototype records; this says so where it matters).
      const theirs = Object.hasOwn(ancestorDims, dim) ? ancestorDims[dim] : undefined;
      if (theirs !== undefined && theirs !== v.shape[i]) {
        throw new RustytreeError(
          'ERR_INVALID_METADATA',
          `group ${JSON.stringify(path)} is not aligned with its parents: dimension ${JSON.stringify(dim)} ` +
            `has size ${v.shape[i]} in ${JSON.stringify(v.path)} and ${theirs} in an ancestor`,
        );
      }
    });
  }
}

/**
 * Opens one group as a {@link Dataset} without walking its descendants. The dataset holds only the group's
 * own variables: coordinates of ancestor groups are not inherited.
 * @param source - as for {@link openDatatree}
 * @param options - see {@link OpenOptions}; `groupFilter` is not accepted here
 * @returns the dataset of `options.group` (default the root group)
 * @throws {@link RustytreeError} as {@link openDatatree}, and `ERR_INVALID_ARGUMENT` for `groupFilter`
 * @example
 * ```ts
 * import { openDataset } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: 'VCP-12/sweep_0' })
 * const scan = await ds.get('DBZH')!.read({ vcp_time: 0 })
 * console.log(scan.shape) // [36, 20]
 * ```
 */
export async function openDataset(source: string, options: OpenOptions = {}): Promise<Dataset> {
  const { tree, info, values } = await openNative(source, options, false);
  const node = info.nodes.find((n) => n.path === '/');
  if (!node) throw noRoot();
  return new Dataset(variablesOf(node, tree, values), coordNamesOf(node), [], node.attrs, tree);
}

/**
 * Reads one chunk of `variable`, decoded and trimmed to the array bounds; the same as
 * {@link Variable.readChunk}.
 * @param variable - a variable of an opened tree or dataset
 * @param chunkCoords - chunk grid coordinates, one per dimension (inner chunks for sharded arrays)
 * @param options - `signal` to abort the read
 * @returns the decoded chunk
 * @throws {@link RustytreeError} as {@link Variable.readChunk}
 * @example
 * ```ts
 * import { openDataset, readChunk } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: 'VCP-12/sweep_0' })
 * const chunk = await readChunk(ds.get('DBZH')!, [0, 0, 0])
 * console.log(chunk.shape) // [1, 10, 8]: the chunk shape of DBZH
 * ```
 */
export async function readChunk(variable: Variable, chunkCoords: number[], options: ReadOptions = {}): Promise<NDArray> {
  if (!(variable instanceof Variable)) invalidArgument('readChunk needs a Variable (from a Dataset or DataTree)');
  return variable.readChunk(chunkCoords, options);
}
