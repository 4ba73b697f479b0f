// The `rustytree` command, run as a child process: tree on every fixture case against what xarray
// decoded, icechunk versions, info's encodings, cat's values in text/JSON/CSV against the expected
// values, --stats against the library's own counts, exit codes and messages of bad command lines,
// Ctrl-C, and the docs' exit-code table against the code.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openDatatree, type OpenOptions } from '../index';
import { EXIT_CODES } from '../ts/cli/exit';
import { FIXTURE_CASES } from './helpers/cases';
import { ROOT, assertBuilt, parseTree, runCli, type CliResult } from './helpers/cli';
import { FIXTURES, loadExpected, store } from './helpers/expected';
import { freePort } from './helpers/servers';
import { UNSUPPORTED_DTYPES } from './helpers/compare';

test.before(() => assertBuilt());

const NEXRAD = 'fixtures/stores/nexrad.zarr';
const CF = 'fixtures/stores/cf.zarr';
const RADAR = 'fixtures/icechunk/radar.icechunk';
const DBZH = '/VCP-12/sweep_0/DBZH';

/** The command-line flags that give the open `options` of a fixture case. */
function flagsOf(options: OpenOptions): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (key === 'decodeCf' && value === false) flags.push('--no-decode');
    else if (key === 'maskAndScale' && value === false) flags.push('--no-mask-and-scale');
    else if (key === 'decodeTimes' && value === false) flags.push('--no-decode-times');
    else if (key === 'branch' || key === 'tag') flags.push(`--${key}`, String(value));
    else if (key === 'snapshotId') flags.push('--snapshot', String(value));
    else throw new Error(`no CLI flag for fixture option ${key}=${String(value)}: add one to the CLI or to this map`);
  }
  return flags;
}

const asNs = (dtype: string) => dtype.replace(/^(datetime64|timedelta64)\[\w+\]$/, '$1[ns]');

/** A failed run: the exit code, `rustytree: CODE: ...` on stderr naming `mention`, no stack, nothing on stdout. */
function assertFailure(t: import('ava').ExecutionContext, r: CliResult, code: keyof typeof EXIT_CODES, mention: string): void {
  t.is(r.code, EXIT_CODES[code], r.stderr);
  t.regex(r.stderr, new RegExp(`^rustytree: ${code}: `), r.stderr);
  t.true(r.stderr.includes(mention), `stderr ${JSON.stringify(r.stderr)} names ${mention}`);
  t.false(/\n\s+at /.test(r.stderr), 'no stack trace');
  t.is(r.stdout, '');
}

for (const [expectedName, storeName, options] of FIXTURE_CASES) {
  test(`tree ${storeName} ${flagsOf(options).join(' ')} (${expectedName}): groups, dims, variables and dtypes as xarray`, async (t) => {
    const expected = loadExpected(expectedName);
    const r = await runCli(['tree', store(storeName), ...flagsOf(options)]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, '');
    const { groups, warnings } = parseTree(r.stdout);
    t.deepEqual([...groups.keys()].sort(), Object.keys(expected.nodes).sort());
    for (const [path, node] of Object.entries(expected.nodes)) {
      const g = groups.get(path)!;
      t.deepEqual(g.dims, node.dims, `${path} dims`);
      t.deepEqual(
        [...g.variables.keys()].sort(),
        [...Object.keys(node.variables), ...(node.inherited_coords ?? [])].sort(),
        `${path} variables`,
      );
      for (const [name, ev] of Object.entries(node.variables)) {
        const v = g.variables.get(name)!;
        t.deepEqual(v.dims, ev.dims, `${path} ${name} dims`);
        t.deepEqual(v.shape, ev.shape, `${path} ${name} shape`);
        t.is(v.section === 'Coordinates', ev.is_coord, `${path} ${name} section`);
        if (ev.cftime)
          t.true(
            warnings.some((w) => w.includes(name)),
            `${name}: a warning names it`,
          );
        else if (ev.reader !== 'zarr-python') t.is(v.dtype, asNs(ev.dtype), `${path} ${name} dtype`);
      }
    }
  });
}

test('tree prints what the library opens: nexrad.zarr DBZH of sweep_1 is (azimuth, range) float64 36×20, attrs intact', async (t) => {
  const r = await runCli(['tree', NEXRAD]);
  const g = parseTree(r.stdout).groups.get('/VCP-12/sweep_1')!;
  t.deepEqual(g.variables.get('DBZH'), {
    dims: ['azimuth', 'range'],
    dtype: 'float64',
    shape: [36, 20],
    section: 'Data variables',
    index: false,
  });
  t.true(g.variables.get('azimuth')!.index);
  t.is(g.attrs.get('sweep_mode'), '"azimuth_surveillance"');
  t.is(parseTree(r.stdout).groups.get('/')!.attrs.get('instrument_name'), '"KLOT"');
});

test('tree writes attributes the library summary cannot: BigInt digits, NaN and Infinity', async (t) => {
  const r = await runCli(['tree', 'fixtures/stores/cf_edge.zarr']);
  t.is(r.code, 0, r.stderr);
  const attrs = parseTree(r.stdout).groups.get('/')!.attrs;
  t.is(attrs.get('big'), '1152921504606846977');
  t.is(attrs.get('valid_min'), 'NaN');
  t.is(attrs.get('top'), 'Infinity');
  // cf.zarr: 2^53 + 1 keeps its last digit; long values are cut at 60 characters.
  const cf = parseTree((await runCli(['tree', CF])).stdout).groups.get('/')!.attrs;
  t.is(cf.get('big_int'), '9007199254740993');
  t.is(cf.get('nested'), '{"a":1,"b":[true,null,"x"],"c":{"d":2.5}}');
});

test('tree --group roots the tree at the group; --filter keeps matches and their ancestors', async (t) => {
  const group = parseTree((await runCli(['tree', NEXRAD, '--group', '/VCP-212'])).stdout).groups;
  t.deepEqual([...group.keys()], ['/', '/sweep_0', '/sweep_1']);
  const filtered = parseTree((await runCli(['tree', NEXRAD, '--filter', '/*/sweep_1'])).stdout).groups;
  t.deepEqual([...filtered.keys()].sort(), ['/', '/VCP-12', '/VCP-12/sweep_1', '/VCP-212', '/VCP-212/sweep_1']);
});

test('icechunk: --branch, --tag, --snapshot and --as-of read the versions the repository records', async (t) => {
  const versions = JSON.parse(readFileSync(join(FIXTURES, 'icechunk', 'radar.icechunk.versions.json'), 'utf8'));
  const main = parseTree((await runCli(['tree', RADAR])).stdout);
  const dev = parseTree((await runCli(['tree', RADAR, '--branch', 'dev'])).stdout);
  const v1 = parseTree((await runCli(['tree', RADAR, '--tag', 'v1'])).stdout);
  const initial = versions.versions['snapshot-TGPTFXP0KXD7YWVH8Z80'].snapshot_id;
  const snap = parseTree((await runCli(['tree', RADAR, '--snapshot', initial])).stdout);
  // At the tag's commit time, main had not yet moved past the tagged snapshot.
  const asOf = parseTree((await runCli(['tree', RADAR, '--as-of', versions.versions['tag-v1'].timestamp])).stdout);
  t.is(main.snapshot, versions.branches.main);
  t.is(dev.snapshot, versions.branches.dev);
  t.is(v1.snapshot, versions.tags.v1);
  t.is(snap.snapshot, initial);
  t.is(asOf.snapshot, versions.tags.v1);
  t.true(dev.groups.has('/VCP-12/sweep_2'));
  t.false(main.groups.has('/VCP-12/sweep_2'));
  t.false(snap.groups.has('/VCP-212'));
  t.is(dev.groups.get('/')!.attrs.get('history'), '"dev branch: added /VCP-12/sweep_2"');
  assertFailure(t, await runCli(['tree', RADAR, '--branch', 'nope']), 'ERR_NOT_FOUND', 'nope');
  assertFailure(t, await runCli(['tree', RADAR, '--tag', 'v1', '--branch', 'dev']), 'ERR_INVALID_ARGUMENT', 'at most one');
});

test('info on a packed variable: stored int16, scale_factor, add_offset, _FillValue and units as encoded', async (t) => {
  const ev = loadExpected('cf.json').nodes['/'].variables.temperature;
  const r = await runCli(['info', CF, '/temperature', '--json']);
  t.is(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  t.is(info.dtype, ev.dtype);
  t.is(info.stored_dtype, ev.encoding.dtype);
  for (const key of ['scale_factor', 'add_offset', '_FillValue']) t.is(info.cf_encoding[key], ev.encoding[key], key);
  t.deepEqual(info.chunks, ev.encoding.chunks);
  t.deepEqual(info.attrs, ev.attrs);
  t.deepEqual(
    info.codecs.map((c: { name: string }) => c.name),
    ['bytes', 'zstd'],
  );
  const text = (await runCli(['info', CF, 'temperature'])).stdout;
  t.true(text.includes('dtype:       float64 (stored as int16)'), text);
  t.true(text.includes('  scale_factor: 0.01\n  add_offset: 273.15\n'), text);
  t.true(text.includes('  _FillValue: -32767\n'), text);
  t.true(text.includes('  units: "K"\n'), text);
});

test('info on a CF datetime: units and calendar moved to the encoding, float64 storage, NaN fill', async (t) => {
  const ev = loadExpected('cf.json').nodes['/'].variables.time_days;
  const info = JSON.parse((await runCli(['info', CF, 'time_days', '--json'])).stdout);
  t.is(info.dtype, 'datetime64[ns]');
  t.is(info.stored_dtype, ev.encoding.dtype);
  t.is(info.cf_encoding.units, ev.encoding.units);
  t.is(info.cf_encoding.calendar, ev.encoding.calendar);
  t.is(info.cf_encoding._FillValue, 'NaN');
  t.deepEqual(info.attrs, ev.attrs);
  const text = (await runCli(['info', CF, 'time_days'])).stdout;
  t.true(text.includes('  units: "days since 2024-01-01"\n  calendar: "proleptic_gregorian"\n'), text);
});

test('info on a sharded array names the shard and inner chunk shapes and the nested codecs', async (t) => {
  const text = (await runCli(['info', 'fixtures/stores/codecs.zarr', 'f32_sharding'])).stdout;
  t.true(text.includes('chunks:      5×5 (inner chunks of shards 20×20)'), text);
  t.true(
    text.includes('sharding_indexed(chunk_shape=[5,5], codecs=[bytes(endian="little")], index_codecs=[bytes(endian="little") -> crc32c]'),
    text,
  );
});

// DBZH of /VCP-12/sweep_0 is (vcp_time 2, azimuth 36, range 20); the expected values are flat, C order.
const nexrad = loadExpected('nexrad.json');
const dbzh = nexrad.nodes['/VCP-12/sweep_0'].variables.DBZH.values as (number | string)[];
const azimuth = nexrad.nodes['/VCP-12/sweep_0'].variables.azimuth.values as number[];
const range = nexrad.nodes['/VCP-12/sweep_0'].variables.range.values as number[];
const dbzhAt = (tt: number, a: number, r: number) => dbzh[(tt * 36 + a) * 20 + r];
const SEL = ['--sel', 'vcp_time=1', '--sel', 'azimuth=2:5', '--sel', 'range=:6'];
const cells = (): [number, number][] => [2, 3, 4].flatMap((a) => [0, 1, 2, 3, 4, 5].map((r) => [a, r] as [number, number]));

test('cat --sel in text: a 3×6 block, value by value, NaN as nan, with the selected coordinates', async (t) => {
  const r = await runCli(['cat', NEXRAD, DBZH, ...SEL]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines[0], `<rustytree.Variable '${DBZH}' (azimuth: 3, range: 6) float64>`);
  const rows = lines.slice(1, 4).map((l) => l.replace(/[[\]]/g, ' ').trim().split(/\s+/));
  t.deepEqual(
    rows.flat(),
    cells().map(([a, rr]) => (dbzhAt(1, a, rr) === 'NaN' ? 'nan' : String(dbzhAt(1, a, rr)))),
  );
  t.true(r.stdout.includes('  * azimuth   (azimuth) float32 20.5 30.5 40.5\n'), r.stdout);
  t.true(r.stdout.includes('    vcp_time  () datetime64[ns] 2024-05-01T00:05:00.000Z\n'), r.stdout);
});

test('cat --sel --json: dims, shape, nested values (NaN as null) and the coordinates of the selection', async (t) => {
  const r = await runCli(['cat', NEXRAD, DBZH, ...SEL, '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.deepEqual(out.dims, ['azimuth', 'range']);
  t.deepEqual(out.shape, [3, 6]);
  t.deepEqual(out.selection, { vcp_time: 1, azimuth: [2, 5], range: [0, 6] });
  t.deepEqual(
    out.values.flat(),
    cells().map(([a, rr]) => (dbzhAt(1, a, rr) === 'NaN' ? null : dbzhAt(1, a, rr))),
  );
  t.deepEqual(out.coords.azimuth, azimuth.slice(2, 5));
  t.deepEqual(out.coords.range, range.slice(0, 6));
  const vcpTime = nexrad.nodes['/VCP-12'].variables.vcp_time.values as string[];
  t.is(out.coords.vcp_time, new Date(Number(BigInt(vcpTime[1]) / 1_000_000n)).toISOString());
});

test('cat --sel --csv: one row per element with indices, coordinates and the value (NaN as an empty field)', async (t) => {
  const r = await runCli(['cat', NEXRAD, DBZH, ...SEL, '--csv']);
  t.is(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  t.is(header, 'azimuth_index,azimuth,range_index,range,DBZH');
  t.deepEqual(
    rows,
    cells().map(([a, rr]) => {
      const v = dbzhAt(1, a, rr);
      return `${a},${azimuth[a]},${rr},${range[rr]},${v === 'NaN' ? '' : v}`;
    }),
  );
});

test('cat of CF datetimes: ISO strings, NaT as null in JSON and empty in CSV', async (t) => {
  const expected = loadExpected('cf.json').nodes['/'].variables.time_nat.values as string[];
  const iso = expected.map((ns) => (ns === 'NaT' ? null : new Date(Number(BigInt(ns) / 1_000_000n)).toISOString()));
  t.true(iso.includes(null));
  const json = JSON.parse((await runCli(['cat', CF, 'time_nat', '--json'])).stdout);
  t.deepEqual(json.values, iso);
  t.is(json.dtype, 'datetime64[ns]');
  const csv = (await runCli(['cat', CF, 'time_nat', '--csv'])).stdout.trimEnd().split('\n');
  t.deepEqual(
    csv.slice(1).map((l) => l.split(',').at(-1)),
    iso.map((s) => s ?? ''),
  );
});

test('cat keeps int64 digits, float32 as float32, strings and unicode, bool and 0-d values', async (t) => {
  const ev = loadExpected('dtypes.json').nodes['/'].variables;
  const int64 = (await runCli(['cat', 'fixtures/stores/dtypes.zarr', 'int64', '--json'])).stdout;
  const digits = /"values": \[(.*)\]/.exec(int64)![1].split(', ');
  t.deepEqual(digits, (ev.int64.values as unknown[]).map(String));
  const f32 = JSON.parse((await runCli(['cat', 'fixtures/stores/dtypes.zarr', 'float32', '--json'])).stdout).values as (number | null)[];
  t.deepEqual(
    f32.map((x) => (x === null ? null : Math.fround(x))),
    (ev.float32.values as (number | string)[]).map((x) => (typeof x === 'number' ? Math.fround(x) : null)),
  );
  const strings = JSON.parse((await runCli(['cat', CF, 'name', '--json'])).stdout).values;
  t.deepEqual(strings, loadExpected('cf.json').nodes['/'].variables.name.values);
  const bools = JSON.parse((await runCli(['cat', 'fixtures/stores/dtypes.zarr', 'bool', '--json'])).stdout).values;
  t.deepEqual(bools, ev.bool.values);
  const scalar = await runCli(['cat', 'fixtures/stores/dtypes.zarr', 'scalar']);
  t.is(scalar.stdout.split('\n')[1], String(ev.scalar.values![0]));
});

test('cat --progress always reads chunk-aligned blocks: same stdout, the bar only on stderr', async (t) => {
  const args = ['cat', 'fixtures/stores/codecs.zarr', 'f32_sharding', '--csv'];
  const plain = await runCli([...args, '--progress', 'never']);
  const blocked = await runCli([...args, '--progress', 'always']);
  t.is(plain.stderr, '');
  t.is(blocked.stdout, plain.stdout);
  t.regex(blocked.stderr, /f32_sharding \[#{30}\] 100% 690\/690/);
  const ev = loadExpected('codecs.json').nodes['/'].variables.f32_sharding.values as (number | string)[];
  t.true(ev.includes('NaN'), 'the fixture has NaN cells');
  // An empty field is NaN (Number('') would be 0).
  const values = plain.stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').at(-1) || 'NaN');
  t.deepEqual(
    values.map((x) => Math.fround(Number(x))),
    ev.map((x) => Math.fround(Number(x))),
  );
  // Without a terminal, auto draws nothing.
  t.is((await runCli(args)).stderr, '');
});

test("--stats prints the request counts of the command on stderr, equal to the library's own", async (t) => {
  // Consolidated metadata and no coordinates to load: one GET (the README's request table).
  const info = await runCli(['info', NEXRAD, DBZH, '--stats']);
  t.regex(
    info.stderr,
    /^rustytree: stats: requests=1 gets=1 rangedGets=0 heads=0 lists=0 bytes=\d+ roundTrips=1 peakInFlight=1 elapsedMs=\d+\n$/,
  );
  const tree = await runCli(['tree', NEXRAD, '--stats']);
  const lib = (await openDatatree(store('nexrad.zarr'))).stats();
  t.true(
    tree.stderr.includes(
      `requests=${lib.requests} gets=${lib.gets} rangedGets=${lib.rangedGets} heads=${lib.heads} lists=${lib.lists} bytes=${lib.bytes} `,
    ),
    tree.stderr,
  );
  t.is(tree.stdout, (await runCli(['tree', NEXRAD])).stdout);
  // cat opens the groups down to sweep_0 (loading their index coordinates), then reads one chunk.
  const cat = await runCli(['cat', NEXRAD, DBZH, ...SEL, '--stats']);
  const opened = (await openDatatree(store('nexrad.zarr'), { groupFilter: '/VCP-12/sweep_0' })).stats();
  t.true(cat.stderr.includes(`requests=${opened.requests + 1} gets=${opened.gets + 1} `), cat.stderr);
});

test('bad command lines exit 2 with ERR_INVALID_ARGUMENT and a pointer to --help', async (t) => {
  assertFailure(t, await runCli(['frobnicate', NEXRAD]), 'ERR_INVALID_ARGUMENT', 'unknown command "frobnicate"');
  assertFailure(t, await runCli(['tree']), 'ERR_INVALID_ARGUMENT', 'missing <source>');
  assertFailure(t, await runCli(['info', NEXRAD]), 'ERR_INVALID_ARGUMENT', 'missing <variable-path>');
  assertFailure(t, await runCli(['tree', NEXRAD, '--bogus']), 'ERR_INVALID_ARGUMENT', "Unknown option '--bogus'");
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'azimuth']), 'ERR_INVALID_ARGUMENT', '--sel "azimuth"');
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'azimuth=-1']), 'ERR_INVALID_ARGUMENT', 'non-negative');
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'range=1', '--sel', 'range=2']), 'ERR_INVALID_ARGUMENT', 'selected twice');
  assertFailure(t, await runCli(['tree', NEXRAD, '--engine', 'hdf5']), 'ERR_INVALID_ARGUMENT', '--engine');
  assertFailure(t, await runCli(['tree', NEXRAD, '--max-concurrency', '0']), 'ERR_INVALID_ARGUMENT', '--max-concurrency');
  const r = await runCli(['tree', NEXRAD, '--bogus']);
  t.true(r.stderr.includes('(see: rustytree tree --help)'));
  // No arguments: the usage, on stderr.
  const none = await runCli([]);
  t.is(none.code, 2);
  t.true(none.stderr.startsWith('Usage: rustytree <command>'));
});

test('selections the variable refuses exit 10 (ERR_INVALID_SELECTION), naming the dimension', async (t) => {
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'elevation=0']), 'ERR_INVALID_SELECTION', 'no dimension "elevation"');
  assertFailure(
    t,
    await runCli(['cat', NEXRAD, DBZH, '--sel', 'azimuth=36']),
    'ERR_INVALID_SELECTION',
    'index 36 is out of range for dimension azimuth of size 36',
  );
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'range=5:21']), 'ERR_INVALID_SELECTION', 'range 5:21');
  assertFailure(t, await runCli(['cat', NEXRAD, DBZH, '--sel', 'range=5:2']), 'ERR_INVALID_SELECTION', 'reversed');
});

test('missing variables, groups and sources exit 3 (ERR_NOT_FOUND); other library codes keep their own', async (t) => {
  assertFailure(t, await runCli(['cat', NEXRAD, '/VCP-12/sweep_0/DBZX']), 'ERR_NOT_FOUND', 'no variable "/VCP-12/sweep_0/DBZX"');
  assertFailure(t, await runCli(['info', NEXRAD, '/VCP-99/DBZH']), 'ERR_NOT_FOUND', '"/VCP-99"');
  assertFailure(t, await runCli(['tree', 'fixtures/stores/nope.zarr']), 'ERR_NOT_FOUND', 'nope.zarr');
  assertFailure(t, await runCli(['tree', NEXRAD, '--group', '/nope']), 'ERR_NOT_FOUND', '/nope');
  assertFailure(t, await runCli(['tree', 'fixtures/stores/v2.zarr']), 'ERR_UNSUPPORTED_FORMAT', 'Zarr v2');
  assertFailure(t, await runCli(['cat', 'fixtures/stores/extensions.zarr', 'complex64']), 'ERR_UNSUPPORTED_DTYPE', 'complex64');
  t.deepEqual(UNSUPPORTED_DTYPES['extensions.json'], ['complex128', 'complex64']);
  assertFailure(t, await runCli(['tree', NEXRAD, '--anonymous']), 'ERR_INVALID_ARGUMENT', 'not local paths');
});

test('credentials never reach stderr: URL user info, query values, --storage-option values', async (t) => {
  const port = await freePort();
  const r = await runCli(['tree', `http://reader:hunter2@127.0.0.1:${port}/x.zarr?sig=topsecret`, '--storage-option', 'maxRetries=0']);
  assertFailure(t, r, 'ERR_STORAGE', `127.0.0.1:${port}`);
  t.false(r.stderr.includes('hunter2'), r.stderr);
  t.false(r.stderr.includes('topsecret'), r.stderr);
  const bad = await runCli(['tree', 's3://bucket/x.zarr', '--storage-option', 'AKIAEXAMPLESECRET']);
  assertFailure(t, bad, 'ERR_INVALID_ARGUMENT', 'key=value');
  t.false(bad.stderr.includes('AKIAEXAMPLESECRET'));
});

test('Ctrl-C aborts the open through the signal and exits 130 without waiting for the server', async (t) => {
  // A server that takes requests and never answers: only the abort can end the open (timeouts are 30 s).
  let arrived = 0;
  const server = createServer(() => void arrived++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    let sentAt = 0;
    const r = await runCli(['tree', `http://127.0.0.1:${port}/nexrad.zarr`], {
      // SIGINT once a request is in flight: the handler is installed before the open starts.
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (arrived) {
            clearInterval(poll);
            sentAt = Date.now();
            child.kill('SIGINT');
          }
        }, 20);
        child.on('close', () => clearInterval(poll));
      },
    });
    t.true(arrived > 0, 'the open had started');
    t.is(r.code, 130, r.stderr);
    t.regex(r.stderr, /^rustytree: ERR_ABORTED: /);
    t.true(Date.now() - sentAt < 3000, `exited ${Date.now() - sentAt} ms after SIGINT`);
    t.is(r.stdout, '');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('--help per command on stdout (exit 0), --version names the package and addon versions', async (t) => {
  for (const command of ['tree', 'info', 'cat']) {
    const r = await runCli([command, '--help']);
    t.is(r.code, 0);
    t.true(r.stdout.startsWith(`Usage: rustytree ${command} `), r.stdout);
    t.true(r.stdout.includes('--storage-option key=value'));
  }
  t.true((await runCli(['cat', '--help'])).stdout.includes('--sel dim=a:b'));
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const r = await runCli(['--version']);
  t.is(r.stdout, `rustytree ${version} (native addon ${version})\n`);
});

test('every error code has its own exit code, and docs/cli.md lists them as the code does', (t) => {
  const codes = Object.values(EXIT_CODES);
  t.is(new Set(codes).size, codes.length);
  t.false(codes.includes(0) || codes.includes(130));
  const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const table = Object.fromEntries([...doc.matchAll(/^\| (\d+) \| `(ERR_[A-Z_]+)` \|/gm)].map((m) => [m[2], Number(m[1])]));
  // ERR_UNSUPPORTED_PLATFORM is not a RustytreeError code: the package entry throws it, bin/rustytree.js maps it.
  t.deepEqual(table, { ...EXIT_CODES, ERR_UNSUPPORTED_PLATFORM: 15 });
  t.true(readFileSync(join(ROOT, 'bin', 'rustytree.js'), 'utf8').includes("code === 'ERR_UNSUPPORTED_PLATFORM' ? 15 : 1"));
});
