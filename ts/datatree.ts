/**
 * DataTrees: the group hierarchy, each node with its dataset, as xarray's `DataTree`.
 * @module
 */
import { Dataset, RequestStats, summarize } from './dataset';

/**
 * A node of the tree: a group with its children and dataset.
 * @example
 * ```ts
 * const tree = await openDatatree('radar.zarr')
 * for (const node of tree.subtree) console.log(node.path)
 * tree.get('/VCP-12/sweep_0')?.dataset.get('DBZH')
 * ```
 */
export class DataTree {
  /** Node name (`""` for the root). */
  readonly name: string;
  /** Absolute path in the tree (`/` for the root). */
  readonly path: string;
  /** Parent node, undefined at the root. */
  readonly parent?: DataTree;
  /** Children by name, sorted. */
  readonly children: ReadonlyMap<string, DataTree>;
  /** Group attributes. */
  readonly attrs: Record<string, unknown>;
  /** Warnings from the open (CF attributes left undecoded and why); the same list on every node. */
  readonly warnings: readonly string[];
  /** The icechunk snapshot this tree was read from (undefined for plain Zarr). */
  readonly snapshotId?: string;
  /** This node's dataset. */
  dataset!: Dataset;

  /** @internal */
  constructor(
    name: string,
    path: string,
    parent: DataTree | undefined,
    attrs: Record<string, unknown>,
    warnings: readonly string[],
    snapshotId?: string,
  ) {
    this.name = name;
    this.path = path;
    this.parent = parent;
    this.attrs = attrs;
    this.children = new Map();
    this.warnings = warnings;
    this.snapshotId = snapshotId;
  }

  /** The root of the tree. */
  get root(): DataTree {
    let node: DataTree = this;
    while (node.parent) node = node.parent;
    return node;
  }

  /**
   * The node at `path`: absolute (`/VCP-12/sweep_0`) or relative to this node (`sweep_0`, `../sweep_1`).
   * @returns the node, or undefined when there is none
   */
  get(path: string): DataTree | undefined {
    let node: DataTree | undefined = path.startsWith('/') ? this.root : this;
    for (const seg of path.split('/')) {
      if (!node) return undefined;
      if (seg === '' || seg === '.') continue;
      node = seg === '..' ? node.parent : node.children.get(seg);
    }
    return node;
  }

  /** Store requests made so far by this tree's open and reads (see {@link Dataset.stats}). */
  stats(): RequestStats {
    return this.dataset.stats();
  }

  /** This node and all descendants, depth-first, parents before children. */
  get subtree(): Iterable<DataTree> {
    const start: DataTree = this;
    return {
      *[Symbol.iterator]() {
        const stack: DataTree[] = [start];
        while (stack.length) {
          const node = stack.pop()!;
          yield node;
          stack.push(...[...node.children.values()].reverse());
        }
      },
    };
  }

  /** An xarray-like tree summary. */
  toString(): string {
    const lines = [`<rustytree.DataTree${this.name ? ` '${this.name}'` : ''}>`];
    const walk = (node: DataTree, prefix: string, isRoot: boolean, last: boolean) => {
      const head = isRoot ? '' : `${prefix}${last ? '└── ' : '├── '}`;
      const body = isRoot ? '' : `${prefix}${last ? '    ' : '│   '}`;
      lines.push(`${head}Group: ${node.path}`);
      const kids = [...node.children.values()];
      const bar = kids.length ? '│   ' : '    ';
      for (const l of summarize(node.dataset)) lines.push(`${body}${bar}${l}`);
      kids.forEach((k, i) => walk(k, body, false, i === kids.length - 1));
    };
    walk(this, '', true, true);
    return lines.join('\n');
  }

  /** @internal */
  addChild(child: DataTree): void {
    (this.children as Map<string, DataTree>).set(child.name, child);
  }
}
