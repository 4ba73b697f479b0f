// Memory handed back (issue 19, item 6): once read results are released and garbage-collected, RSS must
// come back down. benchmark/memory-release.ts runs in a child process (so that RSS is its own) with whole
// reads of a store of 32 MiB gzip chunks, one more than cores; each round reads 96 MiB or more of output
// from 48 MiB or more of chunks.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '..');
const ROUNDS = 6;
// What a leak of one round's buffers adds is about 150 MB per round (900 MB over the rounds); RSS moves
// by up to a couple of hundred MB between rounds on a loaded machine. Twice that is the bound.
const GROWTH_BOUND_MB = 400;

interface Release {
  rssOpenMb: number;
  rssFirstReadMb: number;
  roundsMb: number[];
  rssAfterRoundsMb: number;
}

function measureRelease(): Release {
  const dir = mkdtempSync(join(tmpdir(), 'rustytree-memory-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        '--import=tsx',
        '--expose-gc',
        'benchmark/memory-release.ts',
        '--rounds',
        String(ROUNDS),
        '--soak',
        '0',
        '--chunk-mb',
        '32',
        '--dir',
        dir,
      ],
      { cwd: repo, encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`memory-release.ts failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Release;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// DEFECT: buffers of more than 16 MiB that mimalloc allocated on a tokio or rayon thread and that were freed
// on another thread (the output by V8's finalizer on the JS thread) were only reset, never returned: RSS
// grew by each whole read's size, every round.
test('RSS after whole reads released and collected stays near the RSS after the first read', (t) => {
  const m = measureRelease();
  t.is(m.roundsMb.length, ROUNDS);
  t.log(`RSS MB: open ${m.rssOpenMb}, first read ${m.rssFirstReadMb}, rounds ${m.roundsMb.join(' ')}`);
  t.true(
    m.rssAfterRoundsMb - m.rssFirstReadMb <= GROWTH_BOUND_MB,
    `RSS grew from ${m.rssFirstReadMb} MB to ${m.rssAfterRoundsMb} MB over ${ROUNDS} released reads`,
  );
});
