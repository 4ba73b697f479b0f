// Issue 15, items 1, 2 and 7: group filters and tree building stay bounded in stack, time and size. The
// reproductions that used to crash Node run in a child process (helpers/open-in-child.ts).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatatree } from '../index';
import { consolidatedStore, siblingNames } from './helpers/consolidated';
import { store } from './helpers/expected';
import { openInChild } from './helpers/open-in-child';
import { rejectsWith } from './helpers/reject';

const nexrad = store('nexrad.zarr');
const paths = async (options: object) => [...(await openDatatree(nexrad, { loadCoords: false, ...options })).subtree].map((n) => n.path);

test('a groupFilter of 20,001 segments is ERR_INVALID_ARGUMENT, not a stack overflow', (t) => {
  // Fixed defect: full_match recursed once per pattern segment: '**/' x 20,000 + 'x' overflowed the stack (SIGSEGV).
  const r = openInChild(nexrad, { groupFilter: `${'**/'.repeat(20_000)}x` });
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.result?.code, 'ERR_INVALID_ARGUMENT');
  t.regex(r.result?.message ?? '', /60001 bytes long; the limit is 4096/);
});

test('a groupFilter of 5,000 **/ segments is rejected at once, not matched for minutes', (t) => {
  // Fixed defect: every `**` was retried at every depth by a recursive match: more than 20 s on nexrad.zarr.
  const r = openInChild(nexrad, { groupFilter: `${'**/'.repeat(5_000)}x` }, 15_000);
  t.is(r.signal, null, 'the child was killed: the match did not finish');
  t.is(r.result?.code, 'ERR_INVALID_ARGUMENT');
});

test('a groupFilter of 100,000 stars is ERR_INVALID_ARGUMENT, without a panic on stderr', (t) => {
  // Fixed defect: globset compiled the run of stars to a regex over its size limit and panicked: ERR_INTERNAL,
  // and a Rust backtrace on the host's stderr.
  const r = openInChild(nexrad, { groupFilter: '*'.repeat(100_000) });
  t.is(r.status, 0, r.stderr);
  t.is(r.result?.code, 'ERR_INVALID_ARGUMENT');
  t.false(r.stderr.includes('panicked'), r.stderr);
});

test('groupFilter patterns over the documented limits are ERR_INVALID_ARGUMENT', async (t) => {
  // Fixed defect: patterns had no bound at all, so the cost of a match had none either.
  await rejectsWith(t, openDatatree(nexrad, { groupFilter: 'a'.repeat(4097) }), 'ERR_INVALID_ARGUMENT', 'the limit is 4096');
  await rejectsWith(t, openDatatree(nexrad, { groupFilter: 'a/'.repeat(129) }), 'ERR_INVALID_ARGUMENT', '129 segments; the limit is 128');
});

test('patterns at the limits match as their short forms do', async (t) => {
  t.deepEqual(await paths({ groupFilter: '*'.repeat(4096) }), ['/', '/VCP-12', '/VCP-212']);
  t.deepEqual(await paths({ groupFilter: `${'**/'.repeat(127)}sweep_0` }), await paths({ groupFilter: '**/sweep_0' }));
  t.deepEqual(await paths({ groupFilter: '/*/{sweep_0,sweep_2}' }), [
    '/',
    '/VCP-12',
    '/VCP-12/sweep_0',
    '/VCP-12/sweep_2',
    '/VCP-212',
    '/VCP-212/sweep_0',
  ]);
});

test('a consolidated key 10,000 levels deep is ERR_INVALID_METADATA naming it, not a stack overflow', (t) => {
  // Fixed defect: the implicit parents of a consolidated key were created by a recursion per level: a 20 KB
  // zarr.json overflowed the stack (SIGSEGV).
  const deep = consolidatedStore('deep', [Array(10_000).fill('a').join('/')]);
  const r = openInChild(deep, {});
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.result?.code, 'ERR_INVALID_METADATA');
  t.regex(r.result?.message ?? '', /node "\/a\/a\/a.*\.\.\. \(20000 bytes\) is 10000 levels deep; the limit is 8192/);
});

test('a consolidated key 5,000 levels deep opens with its implicit parents', (t) => {
  const deep = consolidatedStore('deep', [Array(5_000).fill('a').join('/')]);
  const r = openInChild(deep, {});
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.result, { nodes: 5_001, depth: 5_000 });
});

/**
 * A chain of up to `depth` groups `a/a/a/...` as directories under a temporary directory, each with its
 * zarr.json, as deep as the file system lets a shell walk down (`cd a`: the full paths of the deepest can
 * pass the path length limit), and one more `a` without a document when the walk stopped early.
 * Returns the store and the number of levels written.
 */
function directoryChain(depth: number): { store: string; levels: number } {
  const store = join(mkdtempSync(join(tmpdir(), 'rustytree-chain-')), 'chain.zarr');
  const script = `
    mkdir "$1" && cd "$1" || exit 1
    doc='{"zarr_format":3,"node_type":"group","attributes":{}}'
    printf '%s' "$doc" > zarr.json
    i=0
    while [ "$i" -lt "$2" ] && mkdir a && cd a 2>/dev/null; do printf '%s' "$doc" > zarr.json; i=$((i + 1)); done
    echo "$i"`;
  const r = spawnSync('sh', ['-c', script, 'sh', store, String(depth)], { encoding: 'utf8' });
  return { store, levels: Number(r.stdout.trim()) };
}

test('a directory tree 500 levels deep opens by listing', (t) => {
  const { store: chain, levels } = directoryChain(500);
  t.is(levels, 500);
  const r = openInChild(chain, { loadCoords: false });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.result, { nodes: 501, depth: 500 });
});

test('a directory tree deeper than file system paths reach is ERR_STORAGE, not a crash', (t) => {
  const { store: chain, levels } = directoryChain(5_000);
  t.true(levels > 1_900 && levels < 5_000, `${levels} levels`);
  const r = openInChild(chain, { loadCoords: false });
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.result?.code, 'ERR_STORAGE');
  t.regex(r.result?.message ?? '', /File name too long/);
});

test('100,000 sibling groups open, sorted, in one pass', async (t) => {
  // Fixed defect: each group's children were sorted again on every insert: 16k / 32k / 100k siblings opened in
  // 2.0 s / 7.2 s / more than 30 s. (The timeout keeps a regression from stalling the suite.)
  t.timeout(30_000);
  const names = siblingNames(100_000);
  const wide = consolidatedStore('wide', names);
  const tree = await openDatatree(wide);
  const children = [...tree.children.keys()];
  t.is(children.length, 100_000);
  t.deepEqual(children, [...names].sort());
  t.is(children[0], 'g00000');
  t.is(children[99_999], 'g99999');
  t.is(tree.get('/g54321')?.path, '/g54321');
  t.is([...tree.subtree].length, 100_001);
  const filtered = await openDatatree(wide, { groupFilter: '/g0999?' });
  t.deepEqual(
    [...filtered.children.keys()],
    Array.from({ length: 10 }, (_, i) => `g0999${i}`),
  );
});
