// Decoded buffers reach JS as external ArrayBuffers (no copy) where the runtime allows it, and as copies
// where it does not (Electron's V8 memory cage refuses external buffers). Node allows them, so the copy
// path is forced with RUSTYTREE_COPY_BUFFERS=1 in a child process, which must read the same values.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openDatatree } from '../index';
import * as native from '../native';
import { store } from './helpers/expected';

const repo = join(__dirname, '..');

// Reads every variable of the sample (all dtypes of dtypes.zarr too) and prints values and counters.
const script = `
const { openDatatree } = require('./index.js');
const native = require('./native.js');
(async () => {
  const out = {};
  for (const source of ${JSON.stringify([store('nexrad.zarr'), store('dtypes.zarr')])}) {
    const tree = await openDatatree(source);
    for (const node of tree.subtree) {
      for (const [name, v] of node.dataset.variables) {
        const a = await v.read();
        out[node.path + '/' + name + '@' + source] = Array.from(a.data, (x) => typeof x === 'bigint' ? x.toString() : Number.isNaN(x) ? 'NaN' : x);
      }
    }
  }
  console.log(JSON.stringify({ out, stats: native.handoverStats() }));
})();
`;

function readAll(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { out: Record<string, unknown[]>; stats: native.NativeHandoverStats };
}

test('the forced copy path reads the same values as the external-buffer path', (t) => {
  const external = readAll({ RUSTYTREE_COPY_BUFFERS: '' });
  const copied = readAll({ RUSTYTREE_COPY_BUFFERS: '1' });
  t.true(Object.keys(external.out).length > 20);
  t.deepEqual(copied.out, external.out);
  t.false(external.stats.copyForced);
  t.true(external.stats.external > 20);
  t.is(external.stats.copied, 0);
  t.true(copied.stats.copyForced);
  t.is(copied.stats.external, 0);
  t.true(copied.stats.copied > 20);
});

test('each read hands over one external buffer, which JS can clone and transfer', async (t) => {
  const tree = await openDatatree(store('nexrad.zarr'));
  const before = native.handoverStats();
  const dbzh = await tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!.read();
  const after = native.handoverStats();
  t.is(after.external - before.external, 1);
  t.is(after.copied, before.copied);
  t.is(dbzh.data.length, 2 * 36 * 20);
  t.is(dbzh.data.buffer.byteLength, dbzh.data.length * 8);
  const first = dbzh.data[0];
  // Node cannot detach an external buffer, so a transfer (to a worker, say) hands over a copy instead;
  // either way the receiver gets the values.
  const moved = structuredClone(dbzh.data.buffer, { transfer: [dbzh.data.buffer] });
  t.is(moved.byteLength, 2 * 36 * 20 * 8);
  t.is(new Float64Array(moved)[0], first);
  t.deepEqual(new Float64Array(moved), dbzh.data);
});
