/**
 * `rustytree tree`: the xarray-like summary of a hierarchy.
 * @module
 */
import type { DataTree } from '../datatree';
import { openDatatree } from '../open';
import { expectPositionals, openOptionsOf, parseCommand } from './args';
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
  await ctx.out.write(`${renderTree(tree)}\n`);
}

/**
 * The tree summary: `DataTree.toString()`, plus the icechunk snapshot and the open's warnings.
 * @example
 * ```ts
 * renderTree(await openDatatree('fixtures/stores/names.zarr'))
 * ```
 */
export function renderTree(tree: DataTree): string {
  const [header, ...body] = tree.toString().split('\n');
  const lines = [header, ...(tree.snapshotId ? [`Snapshot: ${tree.snapshotId}`] : []), ...body];
  if (tree.warnings.length) {
    lines.push('Warnings:');
    for (const w of tree.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n');
}
