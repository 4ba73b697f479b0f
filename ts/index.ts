/**
 * rustytree: Zarr v3 hierarchies as xarray-style DataTrees, read by a Rust core.
 * @module
 */
import * as native from './native';

/** Version of the loaded native addon. */
export function nativeVersion(): string {
  return native.nativeVersion();
}
