/**
 * rustytree: Zarr v3 hierarchies and icechunk repositories as xarray-style DataTrees, read by a Rust core.
 *
 * {@link openDatatree} opens a whole hierarchy in one call; {@link openDataset} opens one group. Values are
 * read lazily with {@link Variable.read} and come back as {@link NDArray}s; failures are
 * {@link RustytreeError}s with a stable {@link ErrorCode}.
 *
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!
 * const scan = await dbzh.read({ vcp_time: 0 })
 * console.log(scan.shape) // [36, 20]: azimuth × range
 * ```
 * @module
 */
import * as native from './native';

export { DataTree } from './datatree';
export { Dataset, RequestStats } from './dataset';
export { ErrorCode, RustytreeError, isRustytreeError } from './errors';
export { NAT, NDArray, TypedArray, toDates } from './ndarray';
export { IcechunkCaching, OpenOptions, StorageOptions, VirtualChunkAccess, openDataset, openDatatree, readChunk } from './open';
export { ReadOptions, Selection, Variable } from './variable';

/**
 * Version of the loaded native addon (the crate version it was built from).
 * @example
 * ```ts
 * import { nativeVersion } from 'rustytree'
 *
 * console.log(nativeVersion()) // e.g. "0.1.0"
 * ```
 */
export function nativeVersion(): string {
  return native.nativeVersion();
}
