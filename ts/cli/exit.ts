/**
 * Exit codes of the `rustytree` command and the one place errors are turned into a stderr line.
 * @module
 */
import { type ErrorCode, RustytreeError, isRustytreeError, scrubbed } from '../errors';

/**
 * One exit code per library error code, so scripts can branch on the failure without parsing stderr.
 * Typed as a full record so that a new {@link ErrorCode} fails to compile until it gets its own code.
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  ERR_INTERNAL: 1,
  ERR_INVALID_ARGUMENT: 2,
  ERR_NOT_FOUND: 3,
  ERR_INVALID_SOURCE: 4,
  ERR_INVALID_METADATA: 5,
  ERR_UNSUPPORTED_FORMAT: 6,
  ERR_UNSUPPORTED_DTYPE: 7,
  ERR_UNSUPPORTED_CODEC: 8,
  ERR_DECODE: 9,
  ERR_INVALID_SELECTION: 10,
  ERR_CF_DECODE: 11,
  ERR_STORAGE: 12,
  ERR_PERMISSION_DENIED: 13,
  ERR_ABORTED: 14,
};

/** Exit code after Ctrl-C, as shells report a process ended by SIGINT (128 + 2). */
export const EXIT_INTERRUPTED = 130;

/** A bad command line: reported like `ERR_INVALID_ARGUMENT` (exit code 2), with a pointer to `--help`. */
export class UsageError extends RustytreeError {
  constructor(
    message: string,
    /** The subcommand whose help explains the mistake, if known. */
    readonly command?: string,
  ) {
    super('ERR_INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

/**
 * The exit code and the stderr line for a failure. Coded errors print `rustytree: <code>: <message>`
 * without a stack trace; anything else is a bug in rustytree and keeps its stack. Both are scrubbed of
 * credentials by the library's rules (URL user info, signed query values).
 */
export function describeFailure(err: unknown): { code: number; text: string } {
  if (isRustytreeError(err)) {
    const hint = err instanceof UsageError ? `\n(see: rustytree ${err.command ? `${err.command} ` : ''}--help)` : '';
    // Scrubbed as it was made (RustytreeError does it); once more for what a subclass may have changed.
    return { code: EXIT_CODES[err.code] ?? 1, text: `rustytree: ${err.code}: ${scrubbed(err.message)}${hint}` };
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { code: EXIT_CODES.ERR_INTERNAL, text: `rustytree: ERR_INTERNAL: ${scrubbed(detail)}` };
}
