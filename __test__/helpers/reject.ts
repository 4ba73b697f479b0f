// The assertion every error test makes: the promise rejects with a RustytreeError of `code`, whose message
// names `mention` when given. Returns the error for further checks.
import type { ExecutionContext } from 'ava';
import { isRustytreeError, type ErrorCode } from '../../index';

export async function rejectsWith(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode, mention?: string): Promise<Error> {
  const err = (await t.throwsAsync(promise)) as Error;
  t.true(isRustytreeError(err, code), `expected ${code}, got ${(err as any)?.code}: ${err?.message}`);
  if (mention) t.true(err.message.includes(mention), `message ${JSON.stringify(err.message)} names ${mention}`);
  return err;
}
