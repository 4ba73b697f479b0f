// Opens of consolidated stores with many sibling groups (issue 15, item 7): a root zarr.json that
// consolidates N empty groups, written under a temporary directory, opened with openDatatree in this
// process. Prints one line per size: the median of `runs` opens after one warm-up open. A measurement
// to run by hand (`node --import=tsx benchmark/siblings.ts [runs] [sizes...]`), not a test.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatatree } from '../index';

const GROUP = { zarr_format: 3, node_type: 'group', attributes: {} };

function writeStore(dir: string, count: number): string {
  const store = join(dir, `siblings-${count}.zarr`);
  mkdirSync(store);
  const metadata: Record<string, unknown> = {};
  // Written in reverse order, so nothing arrives pre-sorted by accident.
  for (let i = count - 1; i >= 0; i--) metadata[`g${String(i).padStart(6, '0')}`] = GROUP;
  const root = { ...GROUP, consolidated_metadata: { kind: 'inline', must_understand: false, metadata } };
  writeFileSync(join(store, 'zarr.json'), JSON.stringify(root));
  return store;
}

async function timeOpen(store: string): Promise<number> {
  const started = process.hrtime.bigint();
  const tree = await openDatatree(store);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (tree.children.size === 0) throw new Error(`${store} opened without children`);
  return ms;
}

async function main(): Promise<void> {
  const [runsArg, ...sizeArgs] = process.argv.slice(2);
  const runs = Number(runsArg ?? 3);
  const sizes = sizeArgs.length ? sizeArgs.map(Number) : [16_000, 32_000, 100_000];
  const dir = mkdtempSync(join(tmpdir(), 'rustytree-siblings-'));
  try {
    for (const count of sizes) {
      const store = writeStore(dir, count);
      await timeOpen(store);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await timeOpen(store));
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      console.log(`${count} siblings: median ${median.toFixed(0)} ms over ${runs} opens (${times.map((t) => t.toFixed(0)).join(', ')})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
