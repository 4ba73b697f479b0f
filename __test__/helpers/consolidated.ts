// Generated stores for the tree-building tests: a root group whose inline consolidated metadata names
// the given groups, written into a fresh temporary directory (never into fixtures/).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GROUP = { zarr_format: 3, node_type: 'group', attributes: {} };

/** A store at `<tmp>/<name>.zarr` whose root `zarr.json` consolidates a group at each of `keys`. */
export function consolidatedStore(name: string, keys: Iterable<string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'rustytree-tree-')), `${name}.zarr`);
  mkdirSync(dir);
  const metadata: Record<string, unknown> = {};
  for (const key of keys) metadata[key] = GROUP;
  const root = { ...GROUP, consolidated_metadata: { kind: 'inline', must_understand: false, metadata } };
  writeFileSync(join(dir, 'zarr.json'), JSON.stringify(root));
  return dir;
}

/** `count` sibling group names `g000000`, `g000001`, ... in a shuffled order (a fixed one). */
export function siblingNames(count: number): string[] {
  const width = String(count - 1).length;
  const names = Array.from({ length: count }, (_, i) => `g${String(i).padStart(width, '0')}`);
  // A fixed permutation: the store must not hand the names over already sorted.
  for (let i = names.length - 1, seed = 12345; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [names[i], names[j]] = [names[j], names[i]];
  }
  return names;
}
