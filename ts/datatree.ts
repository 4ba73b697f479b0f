/**
 * DataTrees: the group hierarchy, each node with its dataset, as xarray's `DataTree`.
 * @module
 */
import { type Dataset, type RequestStats, summarize } from './dataset';
import { invalidArgument } from './errors';

/**
 * A node of the tree: a group with its children and its dataset, as xarray's `DataTree`. Trees come from
 * {@link openDatatree}; every node of one tree shares the open's store client and request counters.
 * @example
 * ```ts
 * import { openDatatree } from 'rustytree'
 *
 * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
 * for (const node of tree.subtree) console.log(node.path, Object.keys(node.dataset.dims))
 * const sweep = tree.get('/VCP-12/sweep_0')!
 * console.log(sweep.name, sweep.parent!.path, [...tree.children.keys()]) // sweep_0 /VCP-12 ['VCP-12', 'VCP-212']
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

  /**
   * The root of the tree (the opened group when `group` was given).
   * @example
   * ```ts
   * import { openDatatree } from 'rustytree'
   *
   * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
   * const sweep = tree.get('/VCP-12/sweep_0')!
   * console.log(sweep.root === tree) // true
   * ```
   */
  get root(): DataTree {
    let node: DataTree = this;
    while (node.parent) node = node.parent;
    return node;
  }

  /**
   * The node at `path`: absolute (`/VCP-12/sweep_0`, from the root) or relative to this node (`sweep_0`,
   * `../sweep_1`). Empty and `.` segments are skipped.
   * @param path - a group path
   * @returns the node, or undefined when there is none (or it was left out by `groupFilter`)
   * @example
   * ```ts
   * import { openDatatree } from 'rustytree'
   *
   * const tree = await openDatatree('fixtures/stores/nexrad.zarr')
   * const vcp = tree.get('VCP-12')!
   * console.log(vcp.get('sweep_1')!.path)        // /VCP-12/sweep_1
   * console.log(vcp.get('../VCP-212')!.path)     // /VCP-212
   * console.log(vcp.get('/VCP-212/sweep_9'))     // undefined
   * ```
   */
  get(path: string): DataTree | undefined {
    if (typeof path !== 'string') invalidArgument('DataTree.get needs a group path (a string)');
    let node: DataTree | undefined = path.startsWith('/') ? this.root : this;
    for (const seg of path.split('/')) {
      if (!node) return undefined;
      if (seg === '' || seg === '.') continue;
      node = seg === '..' ? node.parent : node.children.get(seg);
    }
    return node;
  }

  /**
   * Store requests made so far by this tree's open and every read since (see {@link Dataset.stats}).
   * @returns a snapshot of the counters
   * @example
   * ```ts
   * import { openDatatree } from 'rustytree'
   *
   * const tree = await openDatatree('fixtures/stores/nexrad.zarr', { loadCoords: false })
   * console.log(tree.stats().requests) // 1: the root zarr.json holds consolidated metadata
   * ```
   */
  stats(): RequestStats {
    return this.dataset.stats();
  }

  /**
   * This node and all descendants, depth-first, parents before children, children in name order.
   * @example
   * ```ts
   * import { openDatatree } from 'rustytree'
   *
   * const tree = await openDatatree('fixtures/stores/nexrad.zarr', { groupFilter: '/VCP-212/**' })
   * console.log([...tree.subtree].map((node) => node.path))
   * // ['/', '/VCP-212', '/VCP-212/sweep_0', '/VCP-212/sweep_1']
   * ```
   */
  get subtree(): Iterable<DataTree> {
    const start: DataTree = this;
    return {
      *[Symbol.iterator]() {
        const stack: DataTree[] = [start];
        while (stack.length) {
          const node = stack.pop()!;
          yield node;
          // One push per child: a spread of 120,000 arguments overflows the stack.
          const kids = [...node.children.values()];
          for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
        }
      },
    };
  }

  /**
   * An xarray-like summary of this node and its descendants: dimensions, coordinates (`*` marks index
   * coordinates), data variables with dtype and shape, and attributes (long values shortened).
   * @example
   * ```ts
   * import { openDatatree } from 'rustytree'
   *
   * const tree = await openDatatree('fixtures/stores/nexrad.zarr', { group: '/VCP-12/sweep_0' })
   * console.log(tree.toString())
   * ```
   */
  toString(): string {
    const lines = [`<rustytree.DataTree${this.name ? ` '${this.name}'` : ''}>`];
    // Depth-first with an explicit stack (a tree may be thousands of levels deep); `prefix` is the
    // drawing inherited from the ancestors, `last` whether the node is its parent's last child.
    const stack: { node: DataTree; prefix: string; last: boolean }[] = [{ node: this, prefix: '', last: true }];
    while (stack.length) {
      const { node, prefix, last } = stack.pop()!;
      const isRoot = node === this;
      const head = isRoot ? '' : `${prefix}${last ? '└── ' : '├── '}`;
      const body = isRoot ? '' : `${prefix}${last ? '    ' : '│   '}`;
      lines.push(`${head}Group: ${node.path}`);
      const kids = [...node.children.values()];
      const bar = kids.length ? '│   ' : '    ';
      for (const l of summarize(node.dataset)) lines.push(`${body}${bar}${l}`);
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], prefix: body, last: i === kids.length - 1 });
    }
    return lines.join('\n');
  }

  /** @internal */
  addChild(child: DataTree): void {
    (this.children as Map<string, DataTree>).set(child.name, child);
  }
}
