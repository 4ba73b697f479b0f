/**
 * Coded errors. Every failure rejects with a {@link RustytreeError} whose `code` is one of
 * {@link ErrorCode}; messages name the offending path or key and never hold credentials.
 * @module
 */
import * as native from './native';

/**
 * The stable error codes, in Node's `ERR_*` style. Match on them, never on messages.
 *
 * - `ERR_NOT_FOUND`: no store, no root `zarr.json`, missing group; unknown icechunk branch, tag or snapshot
 * - `ERR_INVALID_SOURCE`: empty or malformed source, unknown scheme, a client that cannot be built
 * - `ERR_INVALID_METADATA`: malformed `zarr.json`, bad fields, a group not aligned with its ancestors
 * - `ERR_UNSUPPORTED_CODEC` / `ERR_UNSUPPORTED_DTYPE`: reading an array this build cannot decode
 * - `ERR_UNSUPPORTED_FORMAT`: Zarr v2, non-regular chunk grids, http(s) without consolidated metadata
 * - `ERR_STORAGE`: I/O and server errors after the retries, timeouts
 * - `ERR_PERMISSION_DENIED`: the store refused the request (401/403), an unauthorised virtual chunk container
 * - `ERR_DECODE`: a chunk that fails to decode
 * - `ERR_INVALID_SELECTION`: out-of-range selection or chunk coordinates, unknown dimension
 * - `ERR_INVALID_ARGUMENT`: bad or unknown options
 * - `ERR_CF_DECODE`: CF attributes that cannot be applied (reported when the variable is read)
 * - `ERR_ABORTED`: the `AbortSignal` fired
 * - `ERR_INTERNAL`: a bug, including a Rust panic (Node does not crash)
 * @example
 * ```ts
 * import { openDatatree, isRustytreeError, type ErrorCode } from 'rustytree'
 *
 * const retryable: ErrorCode[] = ['ERR_STORAGE', 'ERR_ABORTED']
 * try {
 *   await openDatatree('fixtures/stores/v2.zarr')
 * } catch (err) {
 *   if (!isRustytreeError(err)) throw err
 *   console.log(err.code, retryable.includes(err.code)) // ERR_UNSUPPORTED_FORMAT false
 * }
 * ```
 */
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
 * The error every rustytree call rejects with: a stable {@link ErrorCode} in `code`, a message naming the
 * path or key at fault (never a credential: URL user info and signed query values are replaced by `***`
 * as the message is made), and the native error as `cause` when there is one.
 * @example
 * ```ts
 * import { openDatatree, RustytreeError } from 'rustytree'
 *
 * const err = await openDatatree('fixtures/stores/missing.zarr').catch((e: unknown) => e)
 * if (err instanceof RustytreeError) console.log(err.name, err.code, err.message)
 * // RustytreeError ERR_NOT_FOUND no such directory: "fixtures/stores/missing.zarr"
 * ```
 */
export class RustytreeError extends Error {
  /** Stable code, e.g. `ERR_NOT_FOUND`. */
  readonly code: ErrorCode;

  /**
   * Made by rustytree; exported so that callers can test their error handling with real instances.
   * @param code - the error code
   * @param message - what went wrong, naming the path or key; scrubbed of credentials
   * @param options - `cause`: the underlying error
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(scrubbed(String(message)), options);
    this.name = 'RustytreeError';
    this.code = code;
  }
}

/**
 * Whether `err` is a {@link RustytreeError}, optionally with one of `codes`; narrows `err` in TypeScript.
 * @param err - anything caught
 * @param codes - accept only these codes (any code when empty)
 * @returns true for a rustytree error with one of the codes
 * @example
 * ```ts
 * import { openDatatree, isRustytreeError } from 'rustytree'
 *
 * try {
 *   await openDatatree('fixtures/stores/nexrad.zarr', { group: '/VCP-99' })
 * } catch (err) {
 *   if (isRustytreeError(err, 'ERR_NOT_FOUND')) console.log('no such group:', err.message)
 *   else throw err
 * }
 * ```
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

/**
 * `text` without credentials, by the native layer's own rules and code (one implementation for every
 * message): URL user info and signed query values (`X-Amz-Signature`, `sig`, `X-Goog-Signature`, any
 * `token`, ...) become `***`, and so do credential values from `storageOptions` and the environment.
 */
export function scrubbed(text: string, storageOptions?: Record<string, string>): string {
  return native.scrubMessage(text, storageOptions);
}
