/**
 * `rustytree cat`: the values of one variable (or a selection of it) as text, JSON or CSV.
 * @module
 */
import type { Dataset } from '../dataset';
import type { NDArray } from '../ndarray';
import type { Variable } from '../variable';
import { expectPositionals, openOptionsOf, parseCommand, parseSelections } from './args';
import type { Context, Output } from './context';
import { UsageError } from './exit';
import { csvField, elementAt, elementFormatter } from './format';
import type { ProgressMode } from './progress';
import { readRanges, resolveRanges, type DimRange } from './read';
import { resolveVariable } from './resolve';

/** Help text of `rustytree cat`. */
export const CAT_HELP = `Usage: rustytree cat <source> <variable-path> [options]

Prints the decoded values of a variable. <variable-path> is /group/name (e.g. /VCP-12/sweep_0/DBZH).

Options:
  --sel dim=i          select one index (the dimension is dropped); repeatable
  --sel dim=a:b        select indices a to b-1 (a: and :b leave an end open); repeatable
  --json               {path, dtype, dims, shape, coords, values}: values nested by dimension,
                       NaN, NaT and infinities as null, datetimes as ISO 8601 strings
  --csv                one row per element: <dim>_index and the <dim> coordinate for each kept
                       dimension, then the value (NaN and NaT as empty fields)
  --progress MODE      auto (a bar on a terminal once a read takes over a second), always, never
`;

/**
 * Runs `rustytree cat`.
 * @throws {RustytreeError} `ERR_INVALID_SELECTION` for a bad selection, `ERR_NOT_FOUND` for a missing variable,
 *   `ERR_INVALID_ARGUMENT` for a bad command line, whatever the open and the read reject with
 */
export async function catCommand(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parseCommand<{ sel?: string[]; json?: boolean; csv?: boolean; progress?: string }>('cat', args, {
    sel: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    csv: { type: 'boolean' },
    progress: { type: 'string' },
  });
  if (values.help) return ctx.out.write(CAT_HELP + ctx.sharedHelp);
  const [source, variablePath] = expectPositionals('cat', positionals, ['source', 'variable-path']);
  if (values.json && values.csv) throw new UsageError('cat: give --json or --csv, not both', 'cat');
  const progress = (values.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'always', 'never'].includes(progress)) {
    throw new UsageError(`--progress must be auto, always or never, not ${JSON.stringify(values.progress)}`, 'cat');
  }
  // Syntax first: a malformed --sel fails before anything is opened.
  const sel = parseSelections(values.sel ?? []);
  const options = { ...openOptionsOf(values, 'cat'), signal: ctx.signal };
  const { variable, dataset, path } = await resolveVariable(ctx, source, variablePath, options);
  const ranges = resolveRanges(variable, sel);
  const array = await readRanges(variable, ranges, { signal: ctx.signal, progress, stderr: ctx.err });
  const coords = await coordinatesOf(dataset, variable, ranges, ctx.signal);
  if (values.json) await writeJson(ctx.out, path, variable, ranges, array, coords);
  else if (values.csv) await writeCsv(ctx.out, variable, ranges, array, coords);
  else await writeText(ctx.out, path, variable, ranges, array, coords);
}

/** The index coordinate of one dimension over the selected range. */
interface Coordinate {
  range: DimRange;
  variable: Variable;
  values: NDArray;
}

/** Index coordinates of the variable's dimensions (own or inherited), sliced to the selection. */
async function coordinatesOf(ds: Dataset, variable: Variable, ranges: DimRange[], signal: AbortSignal): Promise<Coordinate[]> {
  const out: Coordinate[] = [];
  for (const range of ranges) {
    const c = ds.coords.get(range.dim);
    // The variable itself needs no coordinate column: its values are the coordinate.
    if (c?.dims.length !== 1 || c.dims[0] !== range.dim || c.path === variable.path) continue;
    // Index coordinates are loaded by the open: slice them rather than read them again.
    const values = c.values
      ? slice1d(c.values, range.start, range.stop)
      : await c.read({ [range.dim]: [range.start, range.stop] }, { signal });
    out.push({ range, variable: c, values });
  }
  return out;
}

function slice1d(a: NDArray, start: number, stop: number): NDArray {
  const data = Array.isArray(a.data) ? a.data.slice(start, stop) : a.data.subarray(start, stop);
  return { data, shape: [stop - start], stride: [1], dtype: a.dtype };
}

const TEXT_WIDTH = 100;

/** Walks the index tuples of the leading dimensions (all but the last) in C order. */
function* rowsOf(shape: number[]): Generator<number[]> {
  const lead = shape.slice(0, -1);
  if (lead.some((n) => n === 0)) return;
  const idx = new Array<number>(lead.length).fill(0);
  for (;;) {
    yield idx;
    let d = lead.length - 1;
    while (d >= 0 && ++idx[d] === lead[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

/**
 * How many `[` open before the row at leading index `idx` and how many `]` close after it: one for the
 * row, plus one per outer dimension the row starts (index 0) or ends (last index).
 */
function brackets(idx: number[], lead: number[]): { opens: number; closes: number } {
  let opens = 1;
  while (opens <= lead.length && idx[lead.length - opens] === 0) opens++;
  let closes = 1;
  while (closes <= lead.length && idx[lead.length - closes] === lead[lead.length - closes] - 1) closes++;
  return { opens, closes };
}

function header(path: string, v: Variable, ranges: DimRange[]): string {
  const kept = ranges.filter((r) => !r.dropped).map((r) => `${r.dim}: ${r.stop - r.start}`);
  return `<rustytree.Variable '${path}' (${kept.join(', ')}) ${v.dtype}>`;
}

/** numpy-like nested brackets, elements right-aligned to a common width, long rows wrapped. */
async function writeText(out: Output, path: string, v: Variable, ranges: DimRange[], array: NDArray, coords: Coordinate[]): Promise<void> {
  await out.write(`${header(path, v, ranges)}\n`);
  const fmt = elementFormatter(array.dtype);
  const n = array.data.length;
  if (array.shape.length === 0) {
    await out.write(`${fmt(elementAt(array, 0)).text}\n`);
  } else if (n === 0) {
    await out.write('[]\n');
  } else {
    let width = 0;
    for (let i = 0; i < n; i++) width = Math.max(width, fmt(elementAt(array, i)).text.length);
    const rank = array.shape.length;
    const rowLength = array.shape[rank - 1];
    const perLine = Math.max(1, Math.floor((TEXT_WIDTH - rank) / (width + 1)));
    const lead = array.shape.slice(0, -1);
    let i = 0;
    for (const idx of rowsOf(array.shape)) {
      const { opens, closes } = brackets(idx, lead);
      const cells: string[] = [];
      for (let j = 0; j < rowLength; j++) cells.push(fmt(elementAt(array, i++)).text.padStart(width));
      const lines: string[] = [];
      for (let j = 0; j < cells.length; j += perLine) lines.push(cells.slice(j, j + perLine).join(' '));
      const indent = ' '.repeat(rank);
      const text = `${' '.repeat(rank - opens)}${'['.repeat(opens)}${lines.join(`\n${indent}`)}${']'.repeat(closes)}`;
      // A blank line between blocks of the outer dimensions, as numpy prints them.
      const last = i === n;
      await out.write(`${text}\n${!last && closes > 1 ? '\n'.repeat(closes - 1) : ''}`);
    }
  }
  if (coords.length) {
    await out.write('Coordinates:\n');
    const wName = Math.max(...coords.map((c) => c.variable.name.length));
    for (const c of coords) {
      const f = elementFormatter(c.values.dtype);
      const items = Array.from(c.values.data as ArrayLike<unknown>, (x) => f(x).text);
      const shown = items.length > 8 ? [...items.slice(0, 3), '...', ...items.slice(-3)] : items;
      const dims = c.range.dropped ? '()' : `(${c.range.dim})`;
      await out.write(`  ${c.range.dropped ? ' ' : '*'} ${c.variable.name.padEnd(wName)}  ${dims} ${c.values.dtype} ${shown.join(' ')}\n`);
    }
  }
}

async function writeJson(out: Output, path: string, v: Variable, ranges: DimRange[], array: NDArray, coords: Coordinate[]): Promise<void> {
  const kept = ranges.filter((r) => !r.dropped);
  const coordJson = coords.map((c) => {
    const f = elementFormatter(c.values.dtype);
    const items = Array.from(c.values.data as ArrayLike<unknown>, (x) => f(x).json);
    return `${JSON.stringify(c.variable.name)}: ${c.range.dropped ? items[0] : `[${items.join(', ')}]`}`;
  });
  const selection = ranges
    .filter((r) => r.dropped || r.start !== 0 || r.stop !== v.shape[v.dims.indexOf(r.dim)])
    .map((r) => `${JSON.stringify(r.dim)}: ${r.dropped ? r.start : `[${r.start}, ${r.stop}]`}`);
  await out.write(
    `{\n  "path": ${JSON.stringify(path)},\n  "dtype": ${JSON.stringify(array.dtype)},\n` +
      `  "dims": [${kept.map((r) => JSON.stringify(r.dim)).join(', ')}],\n  "shape": [${array.shape.join(', ')}],\n` +
      `  "selection": {${selection.join(', ')}},\n  "coords": {${coordJson.join(', ')}},\n  "values": `,
  );
  const fmt = elementFormatter(array.dtype);
  const rank = array.shape.length;
  if (rank === 0) {
    await out.write(fmt(elementAt(array, 0)).json);
  } else if (array.data.length === 0) {
    await out.write(`${'['.repeat(rank)}${']'.repeat(rank)}`);
  } else {
    const rowLength = array.shape[rank - 1];
    const lead = array.shape.slice(0, -1);
    let i = 0;
    let first = true;
    for (const idx of rowsOf(array.shape)) {
      const { opens, closes } = brackets(idx, lead);
      const cells: string[] = [];
      for (let j = 0; j < rowLength; j++) cells.push(fmt(elementAt(array, i++)).json);
      await out.write(`${first ? '' : ',\n    '}${'['.repeat(opens)}${cells.join(', ')}${']'.repeat(closes)}`);
      first = false;
    }
  }
  await out.write('\n}\n');
}

async function writeCsv(out: Output, v: Variable, ranges: DimRange[], array: NDArray, coords: Coordinate[]): Promise<void> {
  const kept = ranges.filter((r) => !r.dropped);
  const byDim = new Map(coords.filter((c) => !c.range.dropped).map((c) => [c.range.dim, c]));
  const columns: string[] = [];
  for (const r of kept) {
    columns.push(`${r.dim}_index`);
    const c = byDim.get(r.dim);
    if (c) columns.push(c.variable.name);
  }
  columns.push(v.name);
  await out.write(`${columns.map(csvField).join(',')}\n`);
  const fmt = elementFormatter(array.dtype);
  const coordFields = kept.map((r) => {
    const c = byDim.get(r.dim);
    if (!c) return undefined;
    const f = elementFormatter(c.values.dtype);
    return Array.from(c.values.data as ArrayLike<unknown>, (x) => f(x).csv);
  });
  const idx = new Array<number>(kept.length).fill(0);
  for (let i = 0; i < array.data.length; i++) {
    const fields: string[] = [];
    kept.forEach((r, d) => {
      fields.push(String(r.start + idx[d]));
      const cf = coordFields[d];
      if (cf) fields.push(cf[idx[d]]);
    });
    fields.push(fmt(elementAt(array, i)).csv);
    await out.write(`${fields.join(',')}\n`);
    for (let d = kept.length - 1; d >= 0; d--) {
      if (++idx[d] < array.shape[d]) break;
      idx[d] = 0;
    }
  }
}
