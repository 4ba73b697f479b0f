/**
 * `rustytree tree`: the xarray-like summary of a hierarchy.
 * @module
 */
import type { Dataset } from '../dataset';
import type { DataTree } from '../datatree';
import { openDatatree } from '../open';
import type { Variable } from '../variable';
import { expectPositionals, openOptionsOf, parseCommand } from './args';
import { abbreviate, attrText } from './format';
import type { Context } from './context';

/** Help text of `rustytree tree`. */
export const TREE_HELP = `Usage: rustytree tree <source> [options]

Prints the hierarchy as xarray does: each group's dimensions, coordinates (* marks an index),
data variables with dtype and shape, and attributes (abbreviated).

Options:
  --group G        open this group; the tree is rooted there
  --filter GLOB    only groups matching GLOB (and their ancestors), e.g. '/*/sweep_0'
`;

/**
 * Runs `rustytree tree`.
 * @throws {RustytreeError} whatever the open rejects with; `ERR_INVALID_ARGUMENT` for a bad command line
 */
export async function treeCommand(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parseCommand<{ group?: string; filter?: string }>('tree', args, {
    group: { type: 'string' },
    filter: { type: 'string' },
  });
  if (values.help) return ctx.out.write(TREE_HELP + ctx.sharedHelp);
  const [source] = expectPositionals('tree', positionals, ['source']);
  const options = { ...openOptionsOf(values, 'tree'), signal: ctx.signal };
  if (values.group !== undefined) options.group = values.group;
  if (values.filter !== undefined) options.groupFilter = values.filter;
  const tree = await openDatatree(source, options);
  ctx.statsOf = () => tree.stats();
  await ctx.out.write(renderTree(tree) + '\n');
}

/**
 * The tree summary: the layout of `DataTree.toString()`, plus the icechunk snapshot and the open's
 * warnings, with attributes written by {@link attrText} (the library's summary cannot print BigInt
 * attributes and shows NaN as null).
 * @example
 * ```ts
 * renderTree(await openDatatree('fixtures/stores/names.zarr'))
 * ```
 */
export function renderTree(tree: DataTree): string {
  const lines = [`<rustytree.DataTree${tree.name ? ` '${tree.name}'` : ''}>`];
  if (tree.snapshotId) lines.push(`Snapshot: ${tree.snapshotId}`);
  const walk = (node: DataTree, prefix: string, isRoot: boolean, last: boolean) => {
    const head = isRoot ? '' : `${prefix}${last ? '└── ' : '├── '}`;
    const body = isRoot ? '' : `${prefix}${last ? '    ' : '│   '}`;
    lines.push(`${head}Group: ${node.path}`);
    const kids = [...node.children.values()];
    const bar = kids.length ? '│   ' : '    ';
    for (const l of summaryLines(node.dataset)) lines.push(`${body}${bar}${l}`);
    kids.forEach((k, i) => walk(k, body, false, i === kids.length - 1));
  };
  walk(tree, '', true, true);
  if (tree.warnings.length) {
    lines.push('Warnings:');
    for (const w of tree.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n');
}

/** A dataset's summary lines: dimensions, coordinates, data variables, attributes. */
export function summaryLines(ds: Dataset): string[] {
  const lines = [`Dimensions:  (${Object.entries(ds.dims).map(([k, n]) => `${k}: ${n}`).join(', ')})`];
  const width = Math.max(0, ...[...ds.variables.keys()].map((k) => k.length));
  const row = (v: Variable, marker: string) =>
    `  ${marker} ${v.name.padEnd(width)}  (${v.dims.join(', ')}) ${v.dtype}${v.shape.length ? ` ${v.shape.join('×')}` : ''}`;
  if (ds.coords.size) {
    lines.push('Coordinates:');
    for (const v of ds.coords.values()) lines.push(row(v, isIndex(v) ? '*' : ' '));
  }
  if (ds.dataVars.size) {
    lines.push('Data variables:');
    for (const v of ds.dataVars.values()) lines.push(row(v, ' '));
  }
  const attrs = Object.entries(ds.attrs);
  if (attrs.length) {
    lines.push('Attributes:');
    for (const [k, val] of attrs) lines.push(`    ${k}: ${abbreviate(attrText(val))}`);
  }
  return lines;
}

/** A 1-D coordinate named after its dimension: an index in xarray's sense. */
export function isIndex(v: Variable): boolean {
  return v.dims.length === 1 && v.dims[0] === v.name;
}
