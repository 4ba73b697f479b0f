/**
 * AbortSignal support: the signal cancels a native token, which drops the Rust future and with it every
 * request in flight.
 * @module
 */
import { RustytreeError, fromNative, invalidArgument } from './errors';
import * as native from './native';
import { readInput } from './safe';

/**
 * Whether the caller's `signal` (undefined, or an AbortSignal) has fired. A Proxy of an AbortSignal passes
 * `instanceof` but throws on every use: that is `ERR_INVALID_ARGUMENT` too.
 */
export function signalFired(signal: unknown): boolean {
  return readInput('signal', () => {
    // Anything else with an `aborted` field would be read once and never heard from again.
    if (signal !== undefined && !(signal instanceof AbortSignal)) invalidArgument('signal must be an AbortSignal');
    return signal?.aborted === true;
  });
}

/**
 * Runs `call` with a cancel token tied to `signal`; native errors become {@link RustytreeError}s. `what`
 * names the operation in the message of an abort before the start (it is scrubbed as every message is).
 */
export async function withSignal<T>(
  signal: AbortSignal | undefined,
  what: string,
  call: (token: native.CancelToken | undefined) => Promise<T>,
): Promise<T> {
  if (signalFired(signal)) throw new RustytreeError('ERR_ABORTED', `${what} was aborted before it started`);
  if (!signal) {
    try {
      return await call(undefined);
    } catch (e) {
      throw fromNative(e);
    }
  }
  const token = new native.CancelToken();
  const onAbort = () => token.cancel();
  readInput('signal', () => signal.addEventListener('abort', onAbort, { once: true }));
  try {
    return await call(token);
  } catch (e) {
    throw fromNative(e);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
