/**
 * Decoded values: a flat C-ordered typed array plus shape, strides and numpy dtype name, shaped like
 * zarrita's `Chunk`.
 * @module
 */

/** The element buffers rustytree hands out. int64/uint64 and times come as BigInt arrays. */
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
 * An n-dimensional result. `dtype` follows numpy (`float32`, `bool`, `datetime64[ns]`, `string`, ...).
 * `bool` is a Uint8Array of 0/1; `float16` is widened to a Float32Array; datetimes and timedeltas are
 * BigInt64Array nanoseconds (NaT = -2^63).
 */
export interface NDArray {
  data: TypedArray | string[];
  shape: number[];
  stride: number[];
  dtype: string;
}

/** C-order strides of `shape`, in elements. */
export function cStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) stride[i] = stride[i + 1] * shape[i + 1];
  return stride;
}

/** The NaT sentinel of datetime64/timedelta64 data. */
export const NAT = -(2n ** 63n);

/**
 * Turns datetime64[ns] values into `Date`s (millisecond precision; NaT becomes `null`).
 * @example
 * ```ts
 * const t = await tree.get('/VCP-12')!.dataset.get('vcp_time')!.read()
 * toDates(t) // [Date, Date]
 * ```
 */
export function toDates(array: NDArray): (Date | null)[] {
  if (!array.dtype.startsWith('datetime64') || !(array.data instanceof BigInt64Array)) {
    throw new TypeError(`toDates needs datetime64 values, got ${array.dtype}`);
  }
  return Array.from(array.data, (ns) => (ns === NAT ? null : new Date(Number(ns / 1_000_000n))));
}
