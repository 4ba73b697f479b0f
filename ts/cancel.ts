/**
 * AbortSignal support: the signal cancels a native token, which drops the Rust future and with it every
 * request in flight.
 * @module
 */
import { RustytreeError, fromNative, invalidArgument } from './errors';
import * as native from './native';

/** Runs `call` with a cancel token tied to `signal`; native errors become {@link RustytreeError}s. */
export async function withSignal<T>(
  signal: AbortSignal | undefined,
  what: string,
  call: (token: native.CancelToken | undefined) => Promise<T>,
): Promise<T> {
  // Anything else with an `aborted` field would be read once and never heard from again.
  if (signal !== undefined && !(signal instanceof AbortSignal)) invalidArgument('signal must be an AbortSignal');
  if (signal?.aborted) throw new RustytreeError('ERR_ABORTED', `${what} was aborted before it started`);
  if (!signal) {
    try {
      return await call(undefined);
    } catch (e) {
      throw fromNative(e);
    }
  }
  const token = new native.CancelToken();
  const onAbort = () => token.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(token);
  } catch (e) {
    throw fromNative(e);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
