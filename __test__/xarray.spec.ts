// Every fixture store, opened by rustytree, must match what xarray decodes from it: structure, dims,
// dtypes, attrs and every value.
import test from 'ava';
import type { OpenOptions } from '../index';
import { checkAgainstXarray } from './helpers/compare';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, store } from './helpers/expected';

const cases: [expected: string, storeName: string, options: OpenOptions][] = [
  ['nexrad.json', 'nexrad.zarr', {}],
  ['nexrad_unconsolidated.json', 'nexrad_unconsolidated.zarr', {}],
  ['nexrad.raw.json', 'nexrad.zarr', { decodeCf: false }],
  ['cf.json', 'cf.zarr', {}],
  ['cf.raw.json', 'cf.zarr', { decodeCf: false }],
  ['cf.nomask.json', 'cf.zarr', { maskAndScale: false }],
  ['cf.notimes.json', 'cf.zarr', { decodeTimes: false }],
  ['cf_plain.json', 'cf_plain.zarr', {}],
  ['dtypes.json', 'dtypes.zarr', {}],
  ['codecs.json', 'codecs.zarr', {}],
  ['extensions.json', 'extensions.zarr', {}],
  ['names.json', 'names.zarr', {}],
  ['names_unconsolidated.json', 'names_unconsolidated.zarr', {}],
  ['cf_edge.json', 'cf_edge.zarr', {}],
  // icechunk repositories written by icechunk-python 2.3.0, one case per version selector.
  ['icechunk_radar.main.json', '../icechunk/radar.icechunk', {}],
  ['icechunk_radar.dev.json', '../icechunk/radar.icechunk', { branch: 'dev' }],
  ['icechunk_radar.tag-v1.json', '../icechunk/radar.icechunk', { tag: 'v1' }],
  ...snapshotCases(),
  ['icechunk_radar_v1.main.json', '../icechunk/radar_v1.icechunk', {}],
  ['icechunk_small.main.json', '../icechunk/small.icechunk', {}],
];

/** One case per `icechunk_radar.snapshot-<id>.json`: the id comes from the file name. */
function snapshotCases(): [string, string, OpenOptions][] {
  return readdirSync(join(FIXTURES, 'expected'))
    .filter((f) => f.startsWith('icechunk_radar.snapshot-'))
    .map((f) => [f, '../icechunk/radar.icechunk', { snapshotId: f.slice('icechunk_radar.snapshot-'.length, -'.json'.length) }]);
}

for (const [expectedName, storeName, options] of cases) {
  test(`${expectedName}: rustytree decodes ${storeName} as xarray does`, (t) =>
    checkAgainstXarray(t, expectedName, store(storeName), options),
  );
}
