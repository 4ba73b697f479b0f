/**
 * Coded errors. Every failure rejects with a {@link RustytreeError} whose `code` is one of
 * {@link ErrorCode}; messages name the offending path or key and never hold credentials.
 * @module
 */

/** The stable error codes. */
export type ErrorCode =
  | 'ERR_NOT_FOUND'
  | 'ERR_INVALID_SOURCE'
  | 'ERR_INVALID_METADATA'
  | 'ERR_UNSUPPORTED_CODEC'
  | 'ERR_UNSUPPORTED_DTYPE'
  | 'ERR_UNSUPPORTED_FORMAT'
  | 'ERR_STORAGE'
  | 'ERR_PERMISSION_DENIED'
  | 'ERR_DECODE'
  | 'ERR_INVALID_SELECTION'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_CF_DECODE'
  | 'ERR_ABORTED'
  | 'ERR_INTERNAL';

/**
 * The error every rustytree call rejects with.
 * @example
 * ```ts
 * try { await openDatatree('missing.zarr') } catch (e) { if (isRustytreeError(e, 'ERR_NOT_FOUND')) ... }
 * ```
 */
export class RustytreeError extends Error {
  /** Stable code, e.g. `ERR_NOT_FOUND`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RustytreeError';
    this.code = code;
  }
}

/**
 * Whether `err` is a {@link RustytreeError}, optionally with one of `codes`.
 * @param err - anything caught
 * @param codes - accept only these codes (any code when empty)
 */
export function isRustytreeError(err: unknown, ...codes: ErrorCode[]): err is RustytreeError {
  return err instanceof RustytreeError && (codes.length === 0 || codes.includes(err.code));
}

const CODED = /^\[(ERR_[A-Z_]+)\] ([\s\S]*)$/;

/** Turns an error thrown by the native layer (`[ERR_X] message`) into a {@link RustytreeError}. */
export function fromNative(err: unknown): RustytreeError {
  if (err instanceof RustytreeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = CODED.exec(message);
  if (m) return new RustytreeError(m[1] as ErrorCode, m[2], { cause: err });
  return new RustytreeError('ERR_INTERNAL', message, { cause: err });
}

/** Rejects with `ERR_INVALID_ARGUMENT`. */
export function invalidArgument(message: string): never {
  throw new RustytreeError('ERR_INVALID_ARGUMENT', message);
}
