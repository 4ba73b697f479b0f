/**
 * How the `rustytree` command writes values: attributes (which may hold BigInts and non-finite
 * floats), array elements in text, JSON and CSV, and ISO dates from datetime64[ns].
 * @module
 */
import { NAT, type NDArray } from '../ndarray';

export { abbreviate, attrText } from '../format';

const NS_PER_MS = 1_000_000n;

/**
 * RFC 3339 text of a datetime64[ns] value: millisecond precision, nine fraction digits when the value
 * has sub-millisecond nanoseconds. `null` for NaT.
 * @example
 * ```ts
 * isoFromNs(1714521600333000000n) // '2024-05-01T00:00:00.333Z'
 * ```
 */
export function isoFromNs(ns: bigint): string | null {
  if (ns === NAT) return null;
  // BigInt division truncates toward zero; dates before 1970 need the floor.
  let ms = ns / NS_PER_MS;
  if (ns < 0n && ms * NS_PER_MS !== ns) ms -= 1n;
  const sub = ns - ms * NS_PER_MS;
  const iso = new Date(Number(ms)).toISOString();
  if (sub === 0n) return iso;
  return `${iso.slice(0, -1)}${sub.toString().padStart(6, '0')}Z`;
}

/**
 * Shortest text that reads back as the same float32 (numpy prints float32 0.51 as `0.51`, not as the
 * float64 expansion `0.5099999904632568`).
 */
export function float32Text(x: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** One element in its three written forms; `missing` is NaN or NaT. */
export interface Element {
  /** Human-readable (text output). */
  text: string;
  /** A JSON value, already serialised (`null` for NaN, NaT and ±Infinity). */
  json: string;
  /** A CSV field (empty for NaN and NaT), quoted when needed. */
  csv: string;
}

/**
 * A formatter for the elements of arrays of `dtype`, as {@link NDArray} hands them out (BigInt
 * nanoseconds for times, 0/1 for bool, JS strings).
 * @example
 * ```ts
 * const fmt = elementFormatter('datetime64[ns]')
 * fmt(-(2n ** 63n)) // { text: 'NaT', json: 'null', csv: '' }
 * ```
 */
export function elementFormatter(dtype: string): (value: unknown) => Element {
  if (dtype.startsWith('datetime64')) {
    return (v) => {
      const iso = isoFromNs(v as bigint);
      return iso === null ? { text: 'NaT', json: 'null', csv: '' } : { text: iso, json: JSON.stringify(iso), csv: iso };
    };
  }
  if (dtype.startsWith('timedelta64')) {
    return (v) => {
      if (v === NAT) return { text: 'NaT', json: 'null', csv: '' };
      const s = (v as bigint).toString();
      return { text: s, json: s, csv: s };
    };
  }
  if (dtype === 'bool') {
    return (v) => (v ? { text: 'true', json: 'true', csv: 'true' } : { text: 'false', json: 'false', csv: 'false' });
  }
  if (dtype === 'string') {
    return (v) => {
      const s = String(v);
      return { text: JSON.stringify(s), json: JSON.stringify(s), csv: csvField(s) };
    };
  }
  const narrowFloat = dtype === 'float32' || dtype === 'float16';
  return (v) => {
    if (typeof v === 'bigint') {
      const s = v.toString();
      return { text: s, json: s, csv: s };
    }
    const x = v as number;
    if (Number.isNaN(x)) return { text: 'nan', json: 'null', csv: '' };
    if (!Number.isFinite(x)) return { text: x > 0 ? 'inf' : '-inf', json: 'null', csv: x > 0 ? 'Infinity' : '-Infinity' };
    // String(-0) is "0": negative zero is a distinct float value (numpy prints -0.0), keep its sign.
    const s = Object.is(x, -0) ? '-0' : narrowFloat ? float32Text(x) : String(x);
    return { text: s, json: s, csv: s };
  };
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Element `i` (flat, C order) of `array`. */
export function elementAt(array: NDArray, i: number): unknown {
  return (array.data as ArrayLike<unknown>)[i];
}

/**
 * Valid JSON for a metadata value (pretty-printed when `indent` is given): BigInts as exact digits (a JSON number of any length), NaN and
 * ±Infinity as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (the form zarr-python's JSON uses).
 * @example
 * ```ts
 * jsonText({ _FillValue: NaN, big: 2n ** 60n }) // '{"_FillValue":"NaN","big":1152921504606846976}'
 * ```
 */
export function jsonText(value: unknown, indent?: string): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
  if (value === undefined) return 'null';
  const pretty = indent !== undefined;
  const inner = pretty ? `${indent}  ` : undefined;
  const sep = pretty ? `,\n${inner}` : ',';
  const open = (c: string) => (pretty ? `${c}\n${inner}` : c);
  const close = (c: string) => (pretty ? `\n${indent}${c}` : c);
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    // Lists of scalars (shapes, dims) stay on one line.
    if (value.every((x) => x === null || typeof x !== 'object')) return `[${value.map((x) => jsonText(x)).join(pretty ? ', ' : ',')}]`;
    return `${open('[')}${value.map((x) => jsonText(x, inner)).join(sep)}${close(']')}`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return '{}';
    const colon = pretty ? ': ' : ':';
    return `${open('{')}${entries.map(([k, v]) => `${JSON.stringify(k)}${colon}${jsonText(v, inner)}`).join(sep)}${close('}')}`;
  }
  return JSON.stringify(value);
}
