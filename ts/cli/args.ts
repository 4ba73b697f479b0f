/**
 * Command-line parsing for `rustytree`: the options every subcommand shares (source, storage, version,
 * decoding), each subcommand's own, and the translation into the library's {@link OpenOptions}.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { OpenOptions, StorageOptions } from '../open';
import { UsageError } from './exit';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every subcommand accepts: how to reach the source and which version of it to read. */
export const SHARED_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  stats: { type: 'boolean' },
  anonymous: { type: 'boolean' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'allow-http': { type: 'boolean' },
  'storage-option': { type: 'string', multiple: true },
  engine: { type: 'string' },
  'max-concurrency': { type: 'string' },
  branch: { type: 'string' },
  tag: { type: 'string' },
  snapshot: { type: 'string' },
  'as-of': { type: 'string' },
  'no-decode': { type: 'boolean' },
  'no-mask-and-scale': { type: 'boolean' },
  'no-decode-times': { type: 'boolean' },
} as const satisfies OptionSpec;

/** The values of {@link SHARED_OPTIONS} after parsing. */
export interface SharedValues {
  help?: boolean;
  stats?: boolean;
  anonymous?: boolean;
  region?: string;
  endpoint?: string;
  'allow-http'?: boolean;
  'storage-option'?: string[];
  engine?: string;
  'max-concurrency'?: string;
  branch?: string;
  tag?: string;
  snapshot?: string;
  'as-of'?: string;
  'no-decode'?: boolean;
  'no-mask-and-scale'?: boolean;
  'no-decode-times'?: boolean;
}

/** A parsed command line of one subcommand. */
export interface Parsed<V> {
  values: SharedValues & V;
  positionals: string[];
}

/**
 * Parses `args` (the words after the subcommand) against the shared options plus `own`.
 * @throws {UsageError} unknown options, missing option values, options given a value they do not take
 * @example
 * ```ts
 * parseCommand('cat', ['src.zarr', 'DBZH', '--sel', 'range=0:4'], { sel: { type: 'string', multiple: true } })
 * ```
 */
export function parseCommand<V>(command: string, args: string[], own: OptionSpec): Parsed<V> {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...SHARED_OPTIONS, ...own },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as SharedValues & V, positionals };
  } catch (e) {
    // parseArgs errors name the option, never a value, so they are safe to show as they are.
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
}

/**
 * Checks the number of positionals and returns them.
 * @param names - what each positional is, for the message (`source`, `variable-path`)
 * @throws {UsageError} when one is missing or there are extra words
 */
export function expectPositionals(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`${command}: missing <${names[positionals.length]}>`, command);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[names.length])}`, command);
  }
  return positionals;
}

/**
 * The library options a command line asks for (everything but the command's own choices such as
 * `group` or `groupFilter`).
 * @throws {UsageError} a malformed `--storage-option`, `--engine` or `--max-concurrency`
 * @example
 * ```ts
 * openOptionsOf({ anonymous: true, region: 'us-east-1', tag: 'v1' })
 * // { storageOptions: { anonymous: true, region: 'us-east-1' }, tag: 'v1' }
 * ```
 */
export function openOptionsOf(values: SharedValues, command?: string): OpenOptions {
  const options: OpenOptions = {};
  // Null-prototype: `--storage-option __proto__=x` is a key the library rejects, not a prototype.
  const storage: StorageOptions = Object.create(null);
  for (const entry of values['storage-option'] ?? []) {
    const eq = entry.indexOf('=');
    // The value may be a secret: a malformed entry is reported without echoing it.
    if (eq <= 0) throw new UsageError('--storage-option expects key=value (the entry is not shown: it may hold a secret)', command);
    storage[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  if (values.anonymous) storage.anonymous = true;
  if (values['allow-http']) storage.allowHttp = true;
  if (values.region !== undefined) storage.region = values.region;
  if (values.endpoint !== undefined) storage.endpoint = values.endpoint;
  if (Object.keys(storage).length) options.storageOptions = storage;

  if (values.engine !== undefined) {
    if (values.engine !== 'zarr' && values.engine !== 'icechunk') {
      throw new UsageError(`--engine must be zarr or icechunk, not ${JSON.stringify(values.engine)}`, command);
    }
    options.engine = values.engine;
  }
  const n = values['max-concurrency'];
  if (n !== undefined) {
    if (!/^[1-9]\d*$/.test(n)) throw new UsageError(`--max-concurrency must be a positive integer, not ${JSON.stringify(n)}`, command);
    options.maxConcurrency = Number(n);
  }
  if (values.branch !== undefined) options.branch = values.branch;
  if (values.tag !== undefined) options.tag = values.tag;
  if (values.snapshot !== undefined) options.snapshotId = values.snapshot;
  if (values['as-of'] !== undefined) options.asOf = values['as-of'];
  if (values['no-decode']) options.decodeCf = false;
  if (values['no-mask-and-scale']) options.maskAndScale = false;
  if (values['no-decode-times']) options.decodeTimes = false;
  return options;
}

/** One `--sel` entry: an index (the dimension is dropped) or a `[start, stop)` range (kept). */
export type SelEntry = number | [start: number | undefined, stop: number | undefined];

/**
 * Parses `--sel` entries: `dim=i`, `dim=a:b`, `dim=a:` or `dim=:b` (non-negative integers, stop exclusive).
 * Bounds are checked later against the variable, by the library.
 * @throws {UsageError} bad syntax or a dimension given twice
 * @example
 * ```ts
 * parseSelections(['azimuth=2:5', 'vcp_time=0']) // Map { 'azimuth' => [2, 5], 'vcp_time' => 0 }
 * ```
 */
export function parseSelections(entries: readonly string[], command = 'cat'): Map<string, SelEntry> {
  const out = new Map<string, SelEntry>();
  for (const entry of entries) {
    const m = /^([^=]+)=(?:(\d+)|(\d*):(\d*))$/.exec(entry);
    if (!m) {
      throw new UsageError(`--sel ${JSON.stringify(entry)}: expected dim=i or dim=start:stop with non-negative integers`, command);
    }
    const dim = m[1];
    if (out.has(dim)) throw new UsageError(`--sel: dimension ${JSON.stringify(dim)} is selected twice`, command);
    const num = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));
    out.set(dim, m[2] !== undefined ? Number(m[2]) : [num(m[3]), num(m[4])]);
  }
  return out;
}
