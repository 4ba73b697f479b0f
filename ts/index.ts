/**
 * rustytree: Zarr v3 hierarchies as xarray-style DataTrees, read by a Rust core.
 *
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const dbzh = tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!
 * const values = await dbzh.read({ vcp_time: 0 })
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

/** Version of the loaded native addon. */
export function nativeVersion(): string {
  return native.nativeVersion();
}
