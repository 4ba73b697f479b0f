/**
 * Finds the variable a `<variable-path>` names, opening no more of the source than it needs: the root
 * group alone, or the groups on the path to its parent (whose index coordinates it inherits).
 * @module
 */
import type { Dataset } from '../dataset';
import { RustytreeError } from '../errors';
import { openDataset, openDatatree, type OpenOptions } from '../open';
import type { Variable } from '../variable';
import type { Context } from './context';

/** A variable and the dataset it was found in (with its inherited coordinates). */
export interface Resolved {
  variable: Variable;
  dataset: Dataset;
  /** `/group/name`, normalised. */
  path: string;
}

/** A glob that matches `path` literally (group names may hold `*`, `?`, `[`, `{`). */
export function literalGlob(path: string): string {
  return path.replace(/[*?[\]{}\\!]/g, '\\$&');
}

/**
 * Opens `source` far enough to reach `variablePath` (`/VCP-12/sweep_0/DBZH`; the leading `/` is optional).
 * @throws {RustytreeError} `ERR_NOT_FOUND` when the group or the variable does not exist, plus whatever the open rejects with
 * @example
 * ```ts
 * const { variable } = await resolveVariable(ctx, 'fixtures/stores/cf.zarr', 'temperature', {})
 * ```
 */
export async function resolveVariable(ctx: Context, source: string, variablePath: string, options: OpenOptions): Promise<Resolved> {
  const parts = variablePath.split('/').filter((s) => s !== '');
  if (!parts.length) throw new RustytreeError('ERR_INVALID_ARGUMENT', `variable path ${JSON.stringify(variablePath)} names no variable`);
  const name = parts.pop()!;
  const group = `/${parts.join('/')}`;
  const path = group === '/' ? `/${name}` : `${group}/${name}`;
  let dataset: Dataset;
  if (group === '/') {
    // groupFilter cannot select the root alone; the root has no ancestors to inherit from anyway.
    const ds = await openDataset(source, options);
    ctx.statsOf = () => ds.stats();
    dataset = ds;
  } else {
    const tree = await openDatatree(source, { ...options, groupFilter: literalGlob(group) });
    ctx.statsOf = () => tree.stats();
    const node = tree.get(group);
    if (!node) throw new RustytreeError('ERR_NOT_FOUND', `no group ${JSON.stringify(group)} holds variable ${JSON.stringify(name)}`);
    dataset = node.dataset;
  }
  const variable = dataset.get(name);
  if (!variable) {
    const names = [...dataset.variables.keys()].join(', ') || 'none';
    throw new RustytreeError('ERR_NOT_FOUND', `no variable ${JSON.stringify(path)} (variables of ${JSON.stringify(group)}: ${names})`);
  }
  return { variable, dataset, path };
}
