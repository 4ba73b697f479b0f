// Every fixture and the options xarray decoded it with (fixtures/expected/*.json): the local tests and
// each object-storage test run the same list.
import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { OpenOptions } from '../../index';
import { FIXTURES } from './expected';

/** [expected JSON, store name under fixtures/stores (icechunk repos via ../icechunk), open options]. */
export const FIXTURE_CASES: [expected: string, storeName: string, options: OpenOptions][] = [
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

/** The key prefix of a case's store when the whole fixtures/ tree is uploaded to a bucket. */
export function fixtureKey(storeName: string): string {
  return posix.normalize(`stores/${storeName}`);
}
