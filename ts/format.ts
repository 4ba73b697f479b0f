/**
 * Text forms of attribute values for the summaries (`Dataset.toString`, `DataTree.toString`, the CLI).
 * @module
 */

/**
 * JSON-like text of an attribute value that `JSON.stringify` would refuse or distort: BigInts keep
 * their digits, NaN and ±Infinity are written as such instead of `null`.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * // cf_edge.zarr's root has a 64-bit integer attribute beyond 2^53 and a NaN one: summaries keep both.
 * const text = (await openDatatree('fixtures/stores/cf_edge.zarr')).toString()
 * console.log(text.includes('big: 1152921504606846977'), text.includes('valid_min: NaN')) // true true
 * ```
 */
export function attrText(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : String(value);
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(attrText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${attrText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `text` cut to `max` characters with `...` when longer (attributes in summaries). */
export function abbreviate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
