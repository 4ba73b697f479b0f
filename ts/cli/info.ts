/**
 * `rustytree info`: one variable's metadata and encoding.
 * @module
 */
import type { Variable } from '../variable';
import { expectPositionals, openOptionsOf, parseCommand } from './args';
import type { Context } from './context';
import { attrText, jsonText } from './format';
import { resolveVariable } from './resolve';
import { isIndex } from '../dataset';

/** Help text of `rustytree info`. */
export const INFO_HELP = `Usage: rustytree info <source> <variable-path> [options]

Prints one variable's metadata and encoding: decoded and stored dtype, dims, shape, chunks and shards,
codecs, Zarr fill value, the CF attributes that were applied (_FillValue, scale_factor, add_offset,
units, calendar, ...) and the remaining attributes. <variable-path> is /group/name (e.g.
/VCP-12/sweep_0/DBZH); a name alone is a root variable.

Options:
  --json           machine-readable output
`;

/** Encoding keys that describe storage; every other encoding key is a CF attribute the open applied. */
const STORAGE_KEYS = new Set(['dtype', 'chunks', 'shards', 'fill_value', 'codecs']);

/**
 * Runs `rustytree info`.
 * @throws {RustytreeError} `ERR_NOT_FOUND` for a missing group or variable, whatever the open rejects with
 */
export async function infoCommand(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parseCommand<{ json?: boolean }>('info', args, { json: { type: 'boolean' } });
  if (values.help) return ctx.out.write(INFO_HELP + ctx.sharedHelp);
  const [source, variablePath] = expectPositionals('info', positionals, ['source', 'variable-path']);
  // Metadata only: coordinate values are not needed.
  const options = { ...openOptionsOf(values, 'info'), signal: ctx.signal, loadCoords: false };
  const { variable, dataset, path } = await resolveVariable(ctx, source, variablePath, options);
  const role = dataset.coords.has(variable.name) ? (isIndex(variable) ? 'index coordinate' : 'coordinate') : 'data variable';
  await ctx.out.write(values.json ? `${jsonText(infoObject(variable, path, role), '')}\n` : renderInfo(variable, path, role));
}

/** The `--json` form of `info`. */
export function infoObject(v: Variable, path: string, role: string): Record<string, unknown> {
  const cf = Object.fromEntries(Object.entries(v.encoding).filter(([k]) => !STORAGE_KEYS.has(k)));
  return {
    path,
    role,
    dtype: v.dtype,
    stored_dtype: v.encoding.dtype,
    dims: v.dims,
    shape: v.shape,
    chunks: v.chunks,
    shards: v.encoding.shards ?? null,
    codecs: v.encoding.codecs ?? [],
    fill_value: v.encoding.fill_value,
    cf_encoding: cf,
    attrs: v.attrs,
  };
}

/**
 * The text form of `info`.
 * @example
 * ```ts
 * renderInfo(ds.get('temperature')!, '/temperature', 'data variable')
 * ```
 */
export function renderInfo(v: Variable, path: string, role: string): string {
  const e = v.encoding;
  const shape = (s: unknown) => (Array.isArray(s) && s.length ? s.join('×') : '()');
  const stored = typeof e.dtype === 'string' && e.dtype !== v.dtype ? ` (stored as ${e.dtype})` : '';
  const lines = [
    `<rustytree.Variable '${path}'>`,
    `  role:        ${role}`,
    `  dtype:       ${v.dtype}${stored}`,
    `  dims:        (${v.dims.join(', ')})`,
    `  shape:       ${shape(v.shape)}`,
    `  chunks:      ${shape(v.chunks)}${e.shards ? ` (inner chunks of shards ${shape(e.shards)})` : ''}`,
    `  codecs:      ${Array.isArray(e.codecs) && e.codecs.length ? codecsText(e.codecs) : 'none'}`,
    `  fill_value:  ${attrText(e.fill_value)}`,
  ];
  const cf = Object.entries(e).filter(([k]) => !STORAGE_KEYS.has(k));
  lines.push(cf.length ? 'CF encoding (applied on read):' : 'CF encoding: none');
  for (const [k, val] of cf) lines.push(`  ${k}: ${attrText(val)}`);
  const attrs = Object.entries(v.attrs);
  lines.push(attrs.length ? 'Attributes:' : 'Attributes: none');
  for (const [k, val] of attrs) lines.push(`  ${k}: ${attrText(val)}`);
  return `${lines.join('\n')}\n`;
}

/** `bytes(endian=little) -> zstd(level=0, checksum=false)`; nested codec chains (sharding) in brackets. */
export function codecsText(codecs: unknown[]): string {
  return codecs.map(codecText).join(' -> ');
}

function codecText(codec: unknown): string {
  if (codec === null || typeof codec !== 'object' || typeof (codec as { name?: unknown }).name !== 'string') return attrText(codec);
  const { name, configuration } = codec as { name: string; configuration?: Record<string, unknown> };
  const params = Object.entries(configuration ?? {}).map(([k, val]) =>
    Array.isArray(val) && val.length && val.every((c) => c && typeof c === 'object' && 'name' in c)
      ? `${k}=[${codecsText(val)}]`
      : `${k}=${attrText(val)}`,
  );
  return params.length ? `${name}(${params.join(', ')})` : name;
}
