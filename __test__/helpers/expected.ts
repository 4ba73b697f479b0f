// Loads what xarray decoded from a fixture store (fixtures/expected/*.json, written by
// scripts/make_fixtures.py) and compares rustytree's values with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../../index';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');
export const store = (name: string) => join(FIXTURES, 'stores', name);

export interface ExpectedVariable {
  dims: string[];
  shape: number[];
  dtype: string;
  is_coord: boolean;
  attrs: Record<string, unknown>;
  encoding: Record<string, unknown>;
  values: unknown[] | null;
  cftime?: boolean;
  reader?: string;
}

export interface ExpectedNode {
  attrs: Record<string, unknown>;
  dims: Record<string, number>;
  inherited_coords?: string[];
  variables: Record<string, ExpectedVariable>;
  xarray_failed_variables?: string[];
}

export interface Expected {
  source: string;
  options: Record<string, unknown>;
  nodes: Record<string, ExpectedNode>;
}

/**
 * How many nodes lie below the root of the fixture store `name`, from the consolidated metadata of its
 * consolidated twin (`nexrad_unconsolidated.zarr` counts as `nexrad.zarr`, written from the same tree).
 */
export function nodesBelowRoot(name: string): number {
  const twin = name.replace('_unconsolidated', '');
  const root = JSON.parse(readFileSync(join(FIXTURES, 'stores', twin, 'zarr.json'), 'utf8'));
  return Object.keys(root.consolidated_metadata.metadata).length;
}

export function loadExpected(name: string): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, 'expected', name), 'utf8')) as Expected;
}

/** One decoded value in the fixture's JSON form ("NaN", "NaT", decimal strings for 64-bit ints). */
export function toJsonForm(data: NDArray['data'], i: number, dtype: string): unknown {
  const v = (data as ArrayLike<unknown>)[i];
  if (typeof v === 'bigint') {
    if ((dtype.startsWith('datetime64') || dtype.startsWith('timedelta64')) && v === -(2n ** 63n)) return 'NaT';
    return v.toString();
  }
  if (dtype === 'bool') return v === 1;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
  }
  return v;
}

/** Normalises an expected value the same way (ints of int64 columns may be numbers or strings). */
export function normalizeExpected(v: unknown, dtype: string): unknown {
  if (typeof v === 'number' && /int64|datetime|timedelta/.test(dtype)) return String(v);
  return v;
}

/** Every value of `array` (read from a variable of data type `dtype`) in the fixture's JSON form. */
export function jsonValues(array: NDArray, dtype: string): unknown[] {
  return Array.from({ length: array.data.length }, (_, i) => toJsonForm(array.data, i, dtype));
}

/** What xarray decoded for `variable`, in the form {@link jsonValues} gives for data type `dtype`. */
export function expectedValues(variable: ExpectedVariable, dtype: string): unknown[] {
  return (variable.values ?? []).map((x) => normalizeExpected(x, dtype));
}

/** Attribute values in the fixtures' JSON form: non-finite floats as strings, BigInts as decimal strings. */
export function attrsJsonForm(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (Array.isArray(v)) return v.map(attrsJsonForm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, attrsJsonForm(x)]));
  return v;
}
