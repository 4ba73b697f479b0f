/**
 * Decoded values: a flat C-ordered typed array plus shape, strides and numpy dtype name, shaped like
 * zarrita's `Chunk`.
 * @module
 */
import { invalidArgument } from './errors';
import { readInput } from './safe';

/**
 * The element buffers rustytree hands out. int64/uint64 and times come as BigInt arrays.
 * @example
 * ```ts
 * import { openDataset, type TypedArray } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/dtypes.zarr')
 * const data = (await ds.get('int64')!.read()).data as TypedArray
 * console.log(data instanceof BigInt64Array) // true
 * ```
 */
export type TypedArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/**
 * An n-dimensional result, shaped like zarrita's `Chunk`. `dtype` follows numpy (`float32`, `bool`,
 * `datetime64[ns]`, `string`, ...). `bool` is a Uint8Array of 0/1; `float16` is widened to a Float32Array;
 * datetimes and timedeltas are BigInt64Array nanoseconds (NaT = -2^63); strings are a `string[]`.
 * @example
 * ```ts
 * import { openDataset } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
 * const { data, shape, stride } = await ds.get('DBZH')!.read({ vcp_time: 0 })
 * // Element [azimuth 3, range 5] of the C-ordered buffer:
 * console.log(shape, (data as Float64Array)[3 * stride[0] + 5 * stride[1]])
 * ```
 */
export interface NDArray {
  /** The elements, flat, in C order. */
  data: TypedArray | string[];
  /** Size of each dimension (`[]` for a scalar). */
  shape: number[];
  /** Elements to step over per dimension in `data` (C order: the last is 1). */
  stride: number[];
  /** numpy dtype name of the elements. */
  dtype: string;
}

/** C-order strides of `shape`, in elements. */
export function cStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) stride[i] = stride[i + 1] * shape[i + 1];
  return stride;
}

/**
 * The NaT ("not a time") sentinel of datetime64/timedelta64 data: -2^63 as a BigInt.
 * @example
 * ```ts
 * import { openDataset, NAT } from 'rustytree'
 *
 * const ds = await openDataset('fixtures/stores/cf.zarr')
 * const times = ds.get('time_nat')!
 * const { data } = await times.read()
 * console.log((data as BigInt64Array).filter((ns) => ns === NAT).length) // 2 missing times
 * ```
 */
export const NAT = -(2n ** 63n);

/**
 * Turns datetime64[ns] values into `Date`s (millisecond precision; NaT becomes `null`).
 * @param array - datetime64 values, as a read returns them
 * @returns one `Date` (or `null`) per element, in C order
 * @throws {@link RustytreeError} `ERR_INVALID_ARGUMENT` when `array` does not hold datetime64 values
 * @example
 * ```ts
 * import { openDatatree, toDates } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * const vcpTime = tree.get('/VCP-12')!.dataset.get('vcp_time')!
 * console.log(toDates(vcpTime.values!)) // [2024-05-01T00:00:00.000Z, 2024-05-01T00:05:00.000Z]
 * ```
 */
export function toDates(array: NDArray): (Date | null)[] {
  const { dtype, data } = readInput('toDates: the array', () => ({ dtype: array?.dtype, data: array?.data }));
  if (typeof dtype !== 'string' || !dtype.startsWith('datetime64') || !(data instanceof BigInt64Array)) {
    invalidArgument(`toDates needs datetime64 values, got ${typeof dtype === 'string' ? dtype : 'no dtype'}`);
  }
  return Array.from(data, (ns) => (ns === NAT ? null : new Date(Number(ns / 1_000_000n))));
}
