// The benchmark's results: `benchmark/results.json` holds every part's figures with the machine, date and
// load they were measured at; `benchmark/RESULTS.md` is rendered from it whole, so a part measured on its
// own (`bench.ts --only ...`) replaces that part and leaves the others as they were measured.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { table, type Measurement } from './compare';
import { LIMIT_KEPT, type ThroughputRow } from './throughput';

export const RESULTS_JSON = join(__dirname, 'results.json');
export const RESULTS_MD = join(__dirname, 'RESULTS.md');

/** Where and when a part was measured. */
export interface Meta {
  date: string;
  machine: string;
  node: string;
  /** The commit the harness ran at (`+` when the work tree had changes). */
  commit?: string;
  /** 1-minute load averages at the part's start and end: above ~0 on an idle machine means other work ran. */
  load?: [number, number];
  /** The cargo profile the addon was built with (`release` from scripts/bench.sh; absent: profile ci). */
  build?: string;
}

export interface RoundTrip {
  name: string;
  points: [number, number][];
  requests: number;
  a: number;
  b: number;
  minimum: number;
}

/** benchmark/make_data.py's layout.json (the fields the report uses). */
export interface Layout {
  profile: string;
  groups: number;
  arrays: number;
  vcps: number;
  sweeps: number;
  volumes: number;
  azimuths: number;
  gates: number;
  decoded_bytes_all_moments: number;
  writer: { xarray: string; zarr: string; icechunk: string };
}

export interface Results {
  roundTrips?: { meta: Meta; runs: number; latencies: number[]; rows: RoundTrip[] };
  contenders?: {
    meta: Meta;
    runs: number;
    latencies: number[];
    layout: Layout;
    /** Whether the Python contenders ran. */
    python: boolean;
    /** Runs and latencies of the slow contenders (Python, icechunk-js). */
    slow: { runs: number; latencies: number[] };
    measurements: Measurement[];
    /** Contenders measured again on their own after `meta`'s run. */
    updates?: { meta: Meta; contenders: string[] }[];
  };
  throughput?: ThroughputPart;
  /** The throughput part on the `large` profile. */
  throughputLarge?: ThroughputPart;
}

export interface ThroughputPart {
  meta: Meta;
  runs: number;
  layout: Layout;
  maxConcurrency: number;
  rows: ThroughputRow[];
  /** Contenders measured again on their own after `meta`'s run. */
  updates?: { meta: Meta; contenders: string[] }[];
}

export function meta(start: number): Meta {
  let commit: string | undefined;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: __dirname }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', cwd: __dirname }).trim();
    commit = dirty ? `${head}+` : head;
  } catch {
    commit = undefined;
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
    node: process.version,
    commit,
    load: [start, loadavg()[0]],
    build: process.env.RUSTYTREE_BENCH_BUILD,
  };
}

export function loadResults(): Results {
  return existsSync(RESULTS_JSON) ? (JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Results) : {};
}

export function saveResults(results: Results): void {
  writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(RESULTS_MD, render(results));
}

const measuredAt = (m: Meta) =>
  `${m.date}${m.commit ? ` at ${m.commit}` : ''}: ${m.machine}, Node ${m.node}, addon built with cargo profile ${m.build ?? 'ci'}` +
  (m.load
    ? `; load average ${m.load[0].toFixed(1)} → ${m.load[1].toFixed(1)}${Math.max(...m.load) > 0.5 ? ' (the machine was shared: other jobs ran)' : ''}`
    : '');

function roundTripSection(r: NonNullable<Results['roundTrips']>): string[] {
  const header = `| case | ${r.latencies.map((l) => `T @ L=${l} ms`).join(' | ')} | requests | b (round trips) | minimum | a (ms) |`;
  const rule = `|${' --- |'.repeat(r.latencies.length + 5)}`;
  const rows = r.rows.map(
    (c) =>
      `| ${c.name} | ${c.points.map(([, t]) => t.toFixed(1)).join(' | ')} | ${c.requests} | ${c.b.toFixed(2)} | ${c.minimum} | ${c.a.toFixed(1)} |`,
  );
  return [
    '## Round trips on the bundled stores',
    '',
    `Measured ${measuredAt(r.meta)}. Each time is the median of ${r.runs} opens after a warm-up, in ms, against a static`,
    'server on 127.0.0.1 that delays every response by L. b is the slope of the fitted line T(L) = a + b·L: the',
    'number of sequential round trips; "minimum" is the protocol minimum for that case.',
    '',
    header,
    rule,
    ...rows,
    '',
  ];
}

function contenderSection(c: NonNullable<Results['contenders']>): string[] {
  const { layout } = c;
  const icechunkJs = c.measurements.some((m) => m.contender === 'icechunk-js');
  return [
    '## Contenders on the KLOT-like archive',
    '',
    `Measured ${measuredAt(c.meta)}.`,
    ...(c.updates ?? []).map((u) => `The ${u.contenders.join(', ')} rows were measured again on their own ${measuredAt(u.meta)}.`),
    `The \`${layout.profile}\` profile of benchmark/make_data.py: ${layout.groups} groups, ${layout.arrays} arrays,`,
    `${layout.vcps} VCPs x ${layout.sweeps} sweeps, six float32 moments of ${layout.volumes} x ${layout.azimuths} x ${layout.gates} per sweep`,
    `(${(layout.decoded_bytes_all_moments / 1e6).toFixed(0)} MB decoded), written by xarray ${layout.writer.xarray}, zarr ${layout.writer.zarr}, icechunk ${layout.writer.icechunk}.`,
    'Served by __test__/helpers/s3-server.ts (S3 ListObjectsV2 + GET, latency L on every response and one more on every',
    `new connection). Each time is the median of ${c.runs} fresh processes after a warm-up, in ms, from the first call to`,
    "the last value. Tasks: `open` = every node's metadata; `coords` = open + every 1-D index coordinate;",
    '`read` = open + DBZH of every sweep. zarrita.js (0.7.5, FetchStore; consolidated v3 metadata through its',
    'extension, otherwise the known node paths level by level, since it cannot list) decodes no CF attributes.',
    ...(icechunkJs
      ? [
          '`icechunk-js` is zarrita.js 0.7.5 on the Store of @earthmover/icechunk 2.2.2, whose wasm32-wasi build',
          '(the native Linux binary needs glibc ≥ 2.38 and does not load here) reads through `Storage.newCustom`',
          'callbacks that `fetch` from the same server; node paths are opened level by level as for zarrita. It',
          `takes seconds per open, so it runs like the Python contenders: ${c.slow.runs} runs at L = ${c.slow.latencies.join(' and ')} ms, no \`coords\``,
          '(see the notes).',
        ]
      : []),
    ...(c.python
      ? [
          'xarray 2026.9.0 (`open_datatree(engine="zarr")` over s3fs 2026.9.0) and rustytree-xarray 0.5.2',
          `(\`engine="rustytree"\`) run from a pinned venv (scripts/requirements-bench.txt), ${c.slow.runs} runs each at`,
          `L = ${c.slow.latencies.join(' and ')} ms only (thousands of requests per open make higher L take minutes per run), so`,
          'their b is fitted on those two points. xarray loads index coordinates while opening, so its `open` is',
          "also its `coords`. rustytree-xarray 0.5.2 opens only a store at a bucket's root, so it reads each",
          'store from a bucket of its own on the same server.',
        ]
      : []),
    'Fresh processes open new connections, so b includes connection set-up (one round trip per connection).',
    "Requests are counted at the server; peak RSS is the child process's.",
    '',
    table(c.measurements, c.latencies),
    '',
    '![T versus L per contender, one panel per store and task](plot.png)',
    '',
    '`plot.png` is drawn from `results.json` by benchmark/plot.py (matplotlib from the bench venv).',
    '',
  ];
}

/** The issue's throughput targets for rustytree, in MB/s of decoded output. */
const TARGETS: Record<string, { mbPerS?: number; vsZarrita?: number }> = {
  zstd: { mbPerS: 1200, vsZarrita: 5 },
  'blosc-lz4': { mbPerS: 2000 },
};
const LIMIT_RATIO = 0.7;

/** T(L) of a measurement: the measured median where L was run, else its fitted line. */
function timeAt(m: Measurement | undefined, latency: number): number | undefined {
  if (!m) return undefined;
  return m.points.find(([l]) => l === latency)?.[1] ?? m.a + m.b * latency;
}

/**
 * The issue's targets for opens, from the round-trip and contender parts: measured value, verdict, and
 * what bounds a missed one.
 */
function openTargetSection(results: Results): string[] {
  const c = results.contenders;
  if (!c) return [];
  const find = (store: string, contender: string, task: string) =>
    c.measurements.find((m) => m.store === store && m.contender === contender && m.task === task);
  const trip = (name: string) => results.roundTrips?.rows.find((r) => r.name === name);
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : 'missed');
  const ratios = (slow: Measurement | undefined, fast: Measurement | undefined, latencies: number[]) =>
    latencies.flatMap((l) => {
      const [s, f] = [timeAt(slow, l), timeAt(fast, l)];
      return s !== undefined && f !== undefined && slow?.points.some(([x]) => x === l) ? [{ l, r: s / f }] : [];
    });
  const span = (rs: { l: number; r: number }[]) => (rs.length ? rs.map(({ l, r }) => `${r.toFixed(1)}× at L = ${l}`).join(', ') : '—');
  const minOf = (rs: { r: number }[]) => (rs.length ? Math.min(...rs.map((x) => x.r)) : undefined);
  const rows: string[] = [];
  const add = (target: string, measured: string, ok: boolean | undefined, bound = '') =>
    rows.push(`| ${target} | ${measured} | ${verdict(ok)} | ${ok === false ? bound : ''} |`);

  const iceTrip = trip('icechunk main (engine: icechunk)');
  const iceOpen = find('klot.icechunk', 'rustytree', 'open');
  add(
    'icechunk open: b ≤ 2.5',
    `${iceTrip?.b.toFixed(2) ?? '—'} (warm connection); ${iceOpen?.b.toFixed(2) ?? '—'} in a fresh process (+1: its connection)`,
    iceTrip && iceTrip.b <= 2.5,
  );
  add(
    'icechunk open: a ≤ 60 ms',
    `${iceOpen?.a.toFixed(0) ?? '—'} ms (1,591 nodes, fresh process)`,
    iceOpen && iceOpen.a <= 60,
    'CPU of the open: fetching and parsing the snapshot, building 1,470 codec pipelines, handing the tree to JS',
  );
  const consTrip = trip('Zarr, consolidated (engine: zarr)');
  add('consolidated open: b ≤ 1.2', `${consTrip?.b.toFixed(2) ?? '—'} (warm connection)`, consTrip && consTrip.b <= 1.2);
  const walk = find('klot.zarr', 'rustytree', 'open');
  const walkWide = find('klot.zarr', 'rustytree (maxConcurrency 2048)', 'open');
  const walkMin = typeof walk?.minimum === 'string' ? Number(walk.minimum.split('=').pop()) : walk?.minimum;
  add(
    `listing walk: b ≤ depth + 1.5 = ${walkMin === undefined ? '?' : walkMin + 0.5}`,
    `${walk?.b.toFixed(2) ?? '—'} (fresh process)`,
    walk && walkMin !== undefined && walk.b <= walkMin + 0.5,
    `the request cap: ${(c.layout.arrays + c.layout.groups - c.layout.vcps - 1).toLocaleString('en-US')} documents at \`maxConcurrency\` 256 go in waves of 256; with 2048, b = ${walkWide?.b.toFixed(2) ?? '—'}, ` +
      'the rest being new connections (one round trip each) and the root document, which comes first',
  );
  for (const store of ['klot_consolidated.zarr', 'klot.icechunk']) {
    const xarray = find(store, 'xarray', 'open'); // xarray loads index coordinates while opening
    const ours = find(store, 'rustytree', 'coords');
    const [x, o] = [timeAt(xarray, 50), timeAt(ours, 50)];
    const r = x !== undefined && o !== undefined ? x / o : undefined;
    add(
      `open + coords, ${store}: ≥ 50× xarray at L = 50`,
      r === undefined ? '—' : `${r.toFixed(0)}× (xarray's T(50) from its fit)`,
      r === undefined ? undefined : r >= 50,
    );
    const rx = ratios(find(store, 'rustytree-xarray', 'open'), ours, c.slow.latencies ?? [0, 10]);
    add(
      `open + coords, ${store}: faster than rustytree-xarray`,
      `${span(rx)} (its open against our open + coords)`,
      rx.length ? minOf(rx)! > 1 : undefined,
    );
  }
  const consolidated = ['open', 'coords', 'read'].flatMap((t) =>
    ratios(find('klot_consolidated.zarr', 'zarrita', t), find('klot_consolidated.zarr', 'rustytree', t), c.latencies),
  );
  add(
    'vs zarrita, consolidated: never slower',
    `${minOf(consolidated)?.toFixed(1) ?? '—'}× at worst (every task and L)`,
    consolidated.length ? minOf(consolidated)! >= 1 : undefined,
  );
  const zarritaWalk = find('klot.zarr', 'zarrita', 'open');
  const walkRatios = ratios(zarritaWalk, walk, c.latencies);
  const best = walkMin !== undefined && walk ? timeAt(zarritaWalk, 100)! / ((walkMin + 1) * 100 + walk.a) : undefined;
  add(
    'vs zarrita, no consolidated metadata: ≥ 5×',
    span(walkRatios),
    walkRatios.length ? minOf(walkRatios)! >= 5 : undefined,
    'zarrita is handed every node path and does not list; at L = 100 even our walk at its minimum (depth + 1 round trips plus the ' +
      `connection) would be ${best?.toFixed(1) ?? '?'}× faster, and at L = 0 the ${walk?.requests.toLocaleString('en-US') ?? '?'} requests cost ${walk?.a.toFixed(0) ?? '?'} ms of CPU (client and server share the 2 cores)`,
  );
  const icejs = ['open', 'read'].flatMap((t) =>
    ratios(find('klot.icechunk', 'icechunk-js', t), find('klot.icechunk', 'rustytree', t), c.slow.latencies ?? [0, 10]),
  );
  add(
    'vs icechunk-js (zarrita on @earthmover/icechunk): ≥ 5×',
    `${minOf(icejs)?.toFixed(0) ?? '—'}× at worst (open and read)`,
    icejs.length ? minOf(icejs)! >= 5 : undefined,
  );
  return [
    '## Targets for opens',
    '',
    "The issue's targets for rustytree, from the two parts above (b fitted on fresh processes includes one round trip",
    'for the connection; the round-trip part keeps its connection warm). Where a target is missed, the last column',
    'says what bounds it.',
    '',
    '| target | measured | verdict | what bounds it |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

function throughputSection(t: ThroughputPart): string[] {
  const { layout } = t;
  const chunkBytes = layout.azimuths * layout.gates * 4;
  const decoded = layout.decoded_bytes_all_moments;
  const rssBound = (1.2 * decoded + t.maxConcurrency * chunkBytes) / 2 ** 20;
  const find = (store: string, contender: string) => t.rows.find((r) => r.store === store && r.contender === contender);
  const ratio = (r: ThroughputRow) => {
    const limit = find(r.store, 'limit');
    return limit ? (r.mbPerS / limit.mbPerS).toFixed(2) : '—';
  };
  const rows = t.rows.map(
    (r) =>
      `| ${r.store} | ${r.codec} | ${r.contender} | ${r.mbPerS.toFixed(0)} | ${r.ms.toFixed(0)} | ${r.contender === 'limit' ? '1.00' : ratio(r)} | ` +
      `${r.contender.startsWith('limit') ? '—' : r.rssMb.toFixed(0)} | ${r.rssOpenMb === undefined ? '—' : r.rssOpenMb.toFixed(0)} |`,
  );
  const stores = [...new Set(t.rows.map((r) => r.store))];
  const verdicts = stores.flatMap((store) => {
    const us = find(store, 'rustytree');
    if (!us) return [];
    const zarrita = find(store, 'zarrita');
    const limit = find(store, 'limit');
    const target = TARGETS[us.codec] ?? {};
    const cell = (ok: boolean | undefined, text: string) => (ok === undefined ? '—' : `${text} (${ok ? 'met' : 'missed'})`);
    const vsZarrita = zarrita ? us.mbPerS / zarrita.mbPerS : undefined;
    const vsLimit = limit ? us.mbPerS / limit.mbPerS : undefined;
    const kept = find(store, LIMIT_KEPT);
    const growth = us.rssOpenMb === undefined ? undefined : us.rssMb - us.rssOpenMb;
    return [
      `| ${us.codec} | ${us.mbPerS.toFixed(0)} | ${target.mbPerS ? cell(us.mbPerS >= target.mbPerS, `≥ ${target.mbPerS}`) : '—'} | ` +
        `${vsZarrita === undefined ? '—' : `${vsZarrita.toFixed(2)}×`}${target.vsZarrita && vsZarrita !== undefined ? ` (target ≥ ${target.vsZarrita}×: ${vsZarrita >= target.vsZarrita ? 'met' : 'missed'})` : ''} | ` +
        `${vsLimit === undefined ? '—' : `${vsLimit.toFixed(2)} (target ≥ ${LIMIT_RATIO}: ${vsLimit >= LIMIT_RATIO ? 'met' : 'missed'})`} | ` +
        `${kept ? (us.mbPerS / kept.mbPerS).toFixed(2) : '—'} | ` +
        `${growth === undefined ? '—' : `${growth.toFixed(0)} (bound ${rssBound.toFixed(0)}: ${growth <= rssBound ? 'met' : 'missed'})`} | ${us.rssMb.toFixed(0)} |`,
    ];
  });
  return [
    `## Decoded read throughput from local disk, \`${layout.profile}\` profile`,
    '',
    `Measured ${measuredAt(t.meta)}.`,
    ...(t.updates ?? []).map((u) => `The ${u.contenders.join(', ')} rows were measured again on their own ${measuredAt(u.meta)}.`),
    `Every moment of every sweep (${layout.vcps * layout.sweeps} sweeps x 6 moments, ${(decoded / 1e6).toFixed(0)} MB of decoded float32) of a`,
    'consolidated store on local disk, from the page cache (a warm-up run first), per codec. MB/s = decoded MB',
    `/ the median time of ${t.runs} fresh processes, timed from the first read to the last value (the open is not`,
    "timed; RSS after open is the process's RSS then). `rustytree`: `openDatatree(dir)` with the default",
    `maxConcurrency (${t.maxConcurrency} locally), then \`Variable.read()\` of every array, all at once, CF-decoded.`,
    '`zarrita`: zarrita.js 0.7.5 with `FileSystemStore` (@zarrita/storage 0.2.0) and its consolidated-metadata',
    'extension, `zarr.get` of every array, all at once, raw values. `limit`: benchmark/codec_limit.py: the',
    'same chunk files read and decoded by the codec alone (numcodecs 0.17.1 Zstd / Blosc / GZip, one thread',
    'per process) in a pool of 2 processes, one per core; no Zarr library, no assembly, no CF decoding.',
    `\`${LIMIT_KEPT}\` (when measured): the same, keeping every decoded chunk until its worker is done, so the`,
    'codec writes into fresh memory (page faults, pages the kernel zeroes) as a reader that hands its output',
    'over must; the plain limit reuses the buffer it has just freed.',
    '',
    '| store | codec | contender | MB/s | ms | × limit | peak RSS (MB) | RSS after open (MB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Targets for rustytree (issue 6). The RSS bound is 1.2 × the decoded output + maxConcurrency × one chunk`,
    `(${(chunkBytes / 1e3).toFixed(0)} kB), in MiB like the RSS columns, against what the reads added: peak RSS − RSS after open. The`,
    "whole process's peak also holds Node itself, the addon and the opened tree (the RSS after open).",
    '',
    '| codec | rustytree MB/s | target MB/s | vs zarrita | × limit | × limit, output kept | RSS added by the reads (MB) | peak RSS (MB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...verdicts,
    '',
  ];
}

const NOTES = [
  '## Notes',
  '',
  '- **@earthmover/icechunk** (npm: 2.2.2, the only version published): its native Linux binary',
  '  (`@earthmover/icechunk-linux-x64-gnu`) does not load here (`undefined symbol: __isoc23_sscanf`: built',
  '  against glibc ≥ 2.38; this machine has 2.36). Its wasm32-wasi build (`@earthmover/icechunk-wasm32-wasi`',
  "  2.2.2, which the package's loader falls back to when the native one fails) loads on Node 20 and opens",
  '  our icechunk repository through `Storage.newCustom` callbacks that fetch from the benchmark server; the',
  '  `icechunk-js` rows use it, and are skipped when the package is not installed. It is slow and erratic',
  '  here: every thread of the wasm build is a Node worker with its own WASI instance (one `read` run started',
  '  49), so opening 1,591 nodes (one call into wasm each) takes seconds, `read` used up to 1.7 GB of RSS, and',
  '  `coords` (315 small arrays read at once) took 53 s and 2.3 GB in a single run at L = 0, which is why it',
  "  runs only `open` and `read`. Its times swing with the machine's load: one more `read` run at L = 0,",
  "  minutes after the table's, took 34 s while three rustytree `read` runs beside it took 0.46–0.75 s. Its",
  '  `open` was faster at L = 10 ms than at L = 0 in both sets of runs made, so its fitted b is negative and',
  '  means nothing: its cost is CPU, not round trips (all measured 2026-11-24 on the shared machine, load',
  '  average 12–30).',
  '- **Python contenders on klot.icechunk**: the `xarray` and `rustytree-xarray` rows of the icechunk',
  '  repository open a read-only session of branch main with icechunk-python 2.3.0 (`s3_storage` pointed at',
  '  the benchmark server: `endpoint_url`, `allow_http`, `anonymous`, `force_path_style`, region us-east-1)',
  '  and pass `session.store` to `xr.open_datatree`: `engine="zarr", consolidated=False` for xarray,',
  '  `engine="rustytree"` for rustytree-xarray 0.5.2, which hands the session to its Rust core as bytes (the',
  "  repository's prefix stays in the session's storage, so no bucket of its own is needed there). Their",
  '  times include opening the repository and the session; requests are counted at the server as for every row.',
  '- **Round trips of fresh processes**: every run in the contender table is a fresh process that first',
  '  opens a TCP connection, which costs one more round trip, so each b there is one above the protocol',
  '  minimum at best.',
  '- **Throughput**: the `small` profile reads 1,260 chunks of 144 kB (about 4.8:1 with zstd, 2.6:1 with',
  '  blosc-lz4) in a few hundred ms, so start-up effects (thread pools, first page faults) weigh more than',
  '  in the `large` profile: 2,520 chunks of 2.9 MB, 7.3 GB decoded, whose far gates are mostly below the',
  "  radar's sensitivity (about 63–67% NaN, 9.5–12:1 with zstd), so the codec alone decodes it about twice",
  "  as fast per byte. This shared machine's speed drifts by 25% or more within minutes (the same",
  '  small-profile limit measured 1,476 and 1,036 MB/s 20 minutes apart), lowering every row of a run alike,',
  '  so the ratios say more than the MB/s.',
  "- **What bounds rustytree's throughput**: the output. A reader hands the user memory it has just",
  '  written, and fresh memory costs a page fault and a page the kernel zeroes (`clear_page_erms`) before',
  '  the decoder can write it; the plain limit decodes into the buffer it freed a moment before, and never',
  '  pays. The `limit, output kept` rows measure the codec alone paying it: on the `large` profile it drops',
  '  from 2,972 to 1,568 MB/s (zstd) and from 7,417 to 2,312 (blosc-lz4), and rustytree reaches 0.93 and',
  '  1.15 of those (1,457 and 2,663 MB/s) while CF-decoding and assembling arrays. What is ours is gone',
  '  from the profile: whole chunks of `bytes` + `zstd`, `blosc` or `gzip` arrays are decompressed by',
  '  `read/direct.rs` straight into the output where a chunk is one contiguous run of it (no buffer per',
  '  chunk, no copy; zstd with a context per thread); the addon allocates through mimalloc (glibc malloc',
  '  gave up to 60,000 page faults per small-profile run, mimalloc keeps and reuses its pages: about',
  '  5,000); local file reads stay on the tokio workers unless several are slow (one slow read used to move',
  '  every later one to about 100 blocking-pool threads). Measured in fresh processes on the small profile',
  '  (2026-11-24, several sets): zstd about 610–775 MB/s before (glibc, a buffer and a copy per chunk)',
  '  → 780–1,060 after, blosc-lz4 about 950–1,230 → 1,470–1,800. Tried and dropped: asking for transparent',
  '  huge pages on large outputs (`madvise(MADV_HUGEPAGE)`; this machine has THP on `madvise`). A `large`',
  '  zstd run already takes only 13,000–27,000 page faults for 7.3 GB under mimalloc, and the advice moved',
  '  throughput within the run-to-run noise (1,676–1,702 against 1,331–1,657 MB/s, three interleaved runs',
  '  each). What is left is the kernel zeroing every fresh page: a reader that hands out new arrays pays it;',
  '  reading into a buffer the caller reuses would not (not offered yet).',
  '',
];

export function render(results: Results): string {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (benchmark/bench.ts) from `results.json`; a part measured on its own',
    '(`--only roundtrips|contenders|throughput`) replaces only that part, so each part states when and where it was',
    'measured.',
    '',
    ...(results.roundTrips ? roundTripSection(results.roundTrips) : []),
    ...(results.contenders ? contenderSection(results.contenders) : []),
    ...openTargetSection(results),
    ...(results.throughput ? throughputSection(results.throughput) : []),
    ...(results.throughputLarge ? throughputSection(results.throughputLarge) : []),
    ...NOTES,
  ].join('\n');
}
