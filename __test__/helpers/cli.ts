// Runs the `rustytree` command as a user would (node bin/rustytree.js in a child process) and parses
// what `rustytree tree` prints. The CLI runs from dist/, so the tests refuse a stale build.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'rustytree.js');

/** Throws unless dist/cli is at least as new as every ts/cli source (run `npm run build:ts`). */
export function assertBuilt(): void {
  const built = join(ROOT, 'dist', 'cli', 'main.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build:ts\` before the CLI tests`);
  }
  const src = join(ROOT, 'ts', 'cli');
  for (const f of readdirSync(src)) {
    if (statSync(join(src, f)).mtimeMs > builtAt) {
      throw new Error(`ts/cli/${f} is newer than dist/cli: run \`npm run build:ts\` before the CLI tests`);
    }
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

// Each run starts a Node process that loads the addon; a handful at a time keeps a 2-core machine responsive.
const MAX_RUNNING = 4;
let running = 0;
const waiting: (() => void)[] = [];

/**
 * Runs `rustytree ...args` from the repository root. `onSpawn` sees the child (e.g. to send SIGINT).
 */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliResult> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise<CliResult>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: options.env ?? process.env });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
      options.onSpawn?.(child);
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export interface TreeVariable {
  dims: string[];
  dtype: string;
  shape: number[];
  section: 'Coordinates' | 'Data variables';
  index: boolean;
}

export interface TreeGroup {
  dims: Record<string, number>;
  variables: Map<string, TreeVariable>;
  attrs: Map<string, string>;
}

/** Parses `rustytree tree` output into groups by path (plus the snapshot line, if any). */
export function parseTree(text: string): { snapshot?: string; groups: Map<string, TreeGroup>; warnings: string[] } {
  const groups = new Map<string, TreeGroup>();
  const warnings: string[] = [];
  let inWarnings = false;
  let snapshot: string | undefined;
  let group: TreeGroup | undefined;
  let section = '';
  for (const raw of text.split('\n')) {
    const snap = /^Snapshot: (\S+)$/.exec(raw);
    if (snap) snapshot = snap[1];
    if (raw === 'Warnings:') inWarnings = true;
    else if (inWarnings && raw) warnings.push(raw.trim());
    if (inWarnings) continue;
    // Strip the tree drawing (box characters and the spaces around them).
    const line = raw.replace(/^[│├└─\s]*/, '');
    const g = /^Group: (.*)$/.exec(line);
    if (g) {
      group = { dims: {}, variables: new Map(), attrs: new Map() };
      groups.set(g[1], group);
      section = '';
      continue;
    }
    if (!group) continue;
    const d = /^Dimensions:\s+\((.*)\)$/.exec(line);
    if (d) {
      for (const part of d[1] ? d[1].split(', ') : []) {
        const [k, n] = part.split(': ');
        group.dims[k] = Number(n);
      }
      continue;
    }
    if (line === 'Coordinates:' || line === 'Data variables:' || line === 'Attributes:') {
      section = line.slice(0, -1);
      continue;
    }
    if (section === 'Attributes') {
      const a = /^(.*?): (.*)$/.exec(line);
      if (a) group.attrs.set(a[1], a[2]);
      continue;
    }
    // Variable rows: `* name  (dims) dtype shape`, `*` marking an index coordinate.
    const v = /^(\* )?(.+?) +\(([^)]*)\) (\S+)(?: (\S+))?$/.exec(line);
    if (v && (section === 'Coordinates' || section === 'Data variables')) {
      group.variables.set(v[2], {
        index: v[1] !== undefined,
        dims: v[3] ? v[3].split(', ') : [],
        dtype: v[4],
        shape: v[5] ? v[5].split('×').map(Number) : [],
        section,
      });
    }
  }
  return { snapshot, groups, warnings };
}
