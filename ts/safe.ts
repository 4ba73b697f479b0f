/**
 * What comes from outside: the objects callers pass in, and names read from a store. A caller's object is
 * read once, under a guard (a getter or Proxy trap that throws is a coded error, and a getter cannot
 * answer one thing to a check and another to the use); store names become keys only of null-prototype
 * records or Maps, so `constructor` or `__proto__` are names like any other.
 * @module
 */
import { RustytreeError } from './errors';

/**
 * Runs `read` over a caller's input; whatever it throws that is not already a {@link RustytreeError} (a
 * throwing getter, a Proxy trap, a revoked Proxy) becomes `ERR_INVALID_ARGUMENT` naming `what`.
 */
export function readInput<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof RustytreeError) throw e;
    throw new RustytreeError('ERR_INVALID_ARGUMENT', `${what} could not be read (a getter or Proxy trap threw)`, { cause: e });
  }
}

/** An empty record without a prototype: any string is a key of its own and nothing is inherited. */
export function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** The own enumerable properties of the caller's object `value`, each read once, as a null-prototype record. */
export function ownRecord(what: string, value: object): Record<string, unknown> {
  return readInput(what, () => {
    const out = nullRecord<unknown>();
    for (const key of Object.keys(value)) out[key] = (value as Record<string, unknown>)[key];
    return out;
  });
}

/** A copy of the caller's array `value` (a Proxy's traps run here, once), or undefined for a non-array. */
export function ownList(what: string, value: unknown): unknown[] | undefined {
  return readInput(what, () => (Array.isArray(value) ? Array.from(value as unknown[]) : undefined));
}

/** Text for a message about a caller's value of any type, which never throws (a Symbol, a hostile toString). */
export function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
