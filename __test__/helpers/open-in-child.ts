// Opens a tree in a child process and reports what happened, so that a reproduction which crashes Node
// (a stack overflow is SIGSEGV) fails its test instead of taking the ava worker down.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

// The child prints one JSON line: the tree's node count and deepest path, or the error's code and message.
const CHILD = `
const { openDatatree } = require('./index');
const [source, options] = JSON.parse(process.env.RUSTYTREE_CHILD_ARGS);
openDatatree(source, options).then(
  (tree) => {
    let nodes = 0;
    let depth = 0;
    for (const node of tree.subtree) {
      nodes += 1;
      depth = Math.max(depth, node.path === '/' ? 0 : node.path.split('/').length - 1);
    }
    console.log(JSON.stringify({ nodes, depth }));
  },
  (e) => console.log(JSON.stringify({ code: e.code, message: e.message })),
);
`;

export interface ChildOutcome {
  /** Exit status (null when killed by a signal or the timeout). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** What the child printed: the opened tree or the error. */
  result?: { nodes?: number; depth?: number; code?: string; message?: string };
}

/** `openDatatree(source, options)` in a fresh Node process, killed after `timeoutMs`. */
export function openInChild(source: string, options: object, timeoutMs = 60_000): ChildOutcome {
  const child = spawnSync(process.execPath, ['-e', CHILD], {
    cwd: ROOT,
    env: { ...process.env, RUSTYTREE_CHILD_ARGS: JSON.stringify([source, options]) },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1 << 26,
  });
  const line = child.stdout.trim().split('\n').pop();
  return { status: child.status, signal: child.signal, stderr: child.stderr, result: line ? JSON.parse(line) : undefined };
}
