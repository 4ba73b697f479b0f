// The soak (issue 8, "Load and leaks"): one process opens stores and reads chunks for a long time against
// a local S3/HTTP server, and we watch whether memory, file descriptors, sockets and threads come back.
//
//   nice -n 10 node --import=tsx --expose-gc scripts/soak.ts [--opens 10000] [--reads-per-open 10]
//     [--workers 8] [--sample-every 100] [--idle-wait 100] [--out benchmark/soak-results]
//
// The server (__test__/helpers/s3-server.ts over fixtures/) runs in a child process so that
// /proc/self/fd counts only the client's descriptors. Work runs in rounds of `--sample-every` opens;
// between rounds nothing is in flight, GC is forced and one sample is taken, so the curve shows what is
// retained, not what is busy.
// Every chunk read is checked against a hash of the same chunk read from local disk before the run.
// Not part of `npm test`: the full run takes several minutes.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { execSync } from 'node:child_process';
import { openDatatree, readChunk, type DataTree, type NDArray, type OpenOptions, type Variable } from '../index';
import { serveBucket } from '../__test__/helpers/s3-server';

const ROOT = join(__dirname, '..');
const FIXTURES = join(ROOT, 'fixtures');
const BUCKET = 'fixtures';

// ---------------------------------------------------------------- configuration

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** One kind of open the soak repeats: a fixture reached over S3 or plain HTTP, with open options. */
interface Source {
  label: string;
  key: string;
  via: 's3' | 'http';
  options: OpenOptions;
}

// Plain Zarr (consolidated, and unconsolidated through S3 listings), icechunk V2 on three version
// selectors, icechunk V1, and stores with many codecs and data types.
const SOURCES: Source[] = [
  { label: 'nexrad s3 consolidated', key: 'stores/nexrad.zarr', via: 's3', options: {} },
  { label: 'nexrad s3 unconsolidated', key: 'stores/nexrad_unconsolidated.zarr', via: 's3', options: {} },
  { label: 'nexrad http consolidated', key: 'stores/nexrad.zarr', via: 'http', options: { loadCoords: false } },
  { label: 'radar.icechunk s3 main', key: 'icechunk/radar.icechunk', via: 's3', options: {} },
  { label: 'radar.icechunk s3 tag v1', key: 'icechunk/radar.icechunk', via: 's3', options: { tag: 'v1' } },
  { label: 'radar.icechunk http dev', key: 'icechunk/radar.icechunk', via: 'http', options: { branch: 'dev' } },
  { label: 'radar_v1.icechunk s3', key: 'icechunk/radar_v1.icechunk', via: 's3', options: {} },
  { label: 'small.icechunk s3', key: 'icechunk/small.icechunk', via: 's3', options: {} },
  { label: 'codecs s3', key: 'stores/codecs.zarr', via: 's3', options: { loadCoords: false } },
  { label: 'cf http', key: 'stores/cf.zarr', via: 'http', options: {} },
  { label: 'dtypes s3', key: 'stores/dtypes.zarr', via: 's3', options: {} },
];

/** One chunk of one variable and the hash of its decoded bytes as read from local disk. */
interface ChunkRef {
  node: string;
  name: string;
  coords: number[];
  hash: string;
}

function hashOf(a: NDArray): string {
  const h = createHash('sha1');
  h.update(a.shape.join(','));
  const d = a.data as unknown;
  if (Array.isArray(d)) h.update(JSON.stringify(d));
  else {
    const v = d as ArrayBufferView;
    h.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex');
}

function* chunkGrid(v: Variable): Generator<number[]> {
  const n = v.shape.map((s, d) => Math.ceil(s / v.chunks[d]));
  if (n.some((x) => x === 0)) return;
  const c = n.map(() => 0);
  for (;;) {
    yield [...c];
    let d = n.length - 1;
    while (d >= 0 && ++c[d] === n[d]) c[d--] = 0;
    if (d < 0) return;
  }
}

/** Every chunk of every variable of the local copy of `source`, with its hash: the expected values. */
async function references(source: Source): Promise<ChunkRef[]> {
  const tree = await openDatatree(join(FIXTURES, source.key), source.options);
  const out: ChunkRef[] = [];
  for (const node of tree.subtree) {
    for (const [name, v] of node.dataset.variables) {
      // Inherited coordinates are read through their own node.
      if (v.path !== (node.path === '/' ? `/${name}` : `${node.path}/${name}`)) continue;
      for (const coords of chunkGrid(v)) out.push({ node: node.path, name, coords, hash: hashOf(await v.readChunk(coords)) });
    }
  }
  return out;
}

// ---------------------------------------------------------------- measurements

interface Sample {
  round: number;
  opens: number;
  reads: number;
  elapsedS: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  fds: number;
  sockets: number;
  threads: number;
}

const MB = 1024 * 1024;

function descriptors(): { fds: number; sockets: number } {
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      fds++;
      if (target.startsWith('socket:')) sockets++;
    } catch {
      // The descriptor readdir itself used is gone by the time it is read.
    }
  }
  return { fds, sockets };
}

function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
}

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  // Two passes with a turn of the event loop between them: finalizers of native objects run after the
  // first pass and free the buffers the second one reclaims.
  for (let i = 0; i < 2; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
}

function sample(round: number, opens: number, reads: number, t0: number): Sample {
  const m = process.memoryUsage();
  return {
    round,
    opens,
    reads,
    elapsedS: (performance.now() - t0) / 1000,
    rssMb: m.rss / MB,
    heapUsedMb: m.heapUsed / MB,
    externalMb: m.external / MB,
    arrayBuffersMb: m.arrayBuffers / MB,
    ...descriptors(),
    threads: threads(),
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// ---------------------------------------------------------------- the run

async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(__filename, ['--serve'], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url };
}

function serverCounts(child: ChildProcess): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    child.once('message', (m: { counts: Record<string, number> }) => resolve(m.counts));
    child.send('counts');
  });
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  const totalOpens = arg('opens', 10_000);
  const readsPerOpen = arg('reads-per-open', 10);
  const workers = arg('workers', 8);
  const every = arg('sample-every', 100);
  const idleWaitS = arg('idle-wait', 100);
  const deadlineMs = arg('deadline', 60_000);
  const outDir = resolve(ROOT, argString('out', 'benchmark/soak-results'));

  // What ran: read before the run, since the repository and the binary may change while it goes on.
  const orUnknown = (read: () => string) => {
    try {
      return read();
    } catch {
      return 'unknown';
    }
  };
  const commit = orUnknown(() => execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim());
  const addonBuilt = orUnknown(() => statSync(join(ROOT, `rustytree.${process.platform}-${process.arch}-gnu.node`)).mtime.toISOString());
  const { child, url } = await startServer();
  const storageOptions = { endpoint: url, anonymous: true, allowHttp: true, region: 'us-east-1' };
  const sourceUrl = (s: Source) => (s.via === 's3' ? `s3://${BUCKET}/${s.key}` : `${url}/${BUCKET}/${s.key}`);
  const optionsOf = (s: Source): OpenOptions => (s.via === 's3' ? { ...s.options, storageOptions } : s.options);

  const refs = new Map<Source, ChunkRef[]>();
  for (const s of SOURCES) refs.set(s, await references(s));
  const chunkCount = [...refs.values()].reduce((a, r) => a + r.length, 0);
  console.log(`server ${url}; ${SOURCES.length} sources, ${chunkCount} reference chunks`);

  // Deterministic choice of source and chunks (xorshift32), so two runs do the same work.
  let seed = 0x5eed_50a1;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };

  let started = 0;
  let settled = 0;
  let hung = 0;
  const track = <T>(p: Promise<T>): Promise<T> => {
    started++;
    let timer: NodeJS.Timeout | undefined;
    const watched = p.finally(() => {
      settled++;
      clearTimeout(timer);
    });
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        hung++;
        reject(new Error(`no answer within ${deadlineMs} ms`));
      }, deadlineMs);
    });
    return Promise.race([watched, deadline]);
  };

  let opens = 0;
  let reads = 0;
  const failures = new Map<string, number>();
  const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
  const perSource = new Map<string, { opens: number; reads: number }>(SOURCES.map((s) => [s.label, { opens: 0, reads: 0 }]));

  async function one(): Promise<void> {
    const s = SOURCES[rand(SOURCES.length)];
    let tree: DataTree;
    try {
      tree = await track(openDatatree(sourceUrl(s), optionsOf(s)));
    } catch (e) {
      fail(`open ${s.label}: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
      return;
    }
    opens++;
    perSource.get(s.label)!.opens++;
    const pool = refs.get(s)!;
    for (let i = 0; i < readsPerOpen; i++) {
      const ref = pool[rand(pool.length)];
      const v = tree.get(ref.node)?.dataset.get(ref.name);
      if (!v) {
        fail(`${s.label}: ${ref.node} ${ref.name} missing`);
        continue;
      }
      try {
        // Both entry points: the method and the free function.
        const got = await track(i % 2 === 0 ? v.readChunk(ref.coords) : readChunk(v, ref.coords));
        reads++;
        perSource.get(s.label)!.reads++;
        if (hashOf(got) !== ref.hash) fail(`${s.label}: wrong values in ${v.path} chunk ${ref.coords}`);
      } catch (e) {
        fail(`read ${s.label} ${v.path}: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
      }
    }
  }

  await settle();
  const loadBefore = loadavg()[0];
  const t0 = performance.now();
  const samples: Sample[] = [sample(0, 0, 0, t0)];
  const pre = samples[0];
  const rounds = Math.ceil(totalOpens / every);
  for (let round = 1; round <= rounds; round++) {
    let left = Math.min(every, totalOpens - (round - 1) * every);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (left > 0) {
          left--;
          await one();
        }
      }),
    );
    await settle();
    const s = sample(round, opens, reads, t0);
    samples.push(s);
    if (round % 10 === 0 || round === rounds) {
      console.log(
        `${s.opens} opens ${s.reads} reads ${s.elapsedS.toFixed(0)} s: rss ${s.rssMb.toFixed(1)} MB heap ${s.heapUsedMb.toFixed(1)} ` +
          `external ${s.externalMb.toFixed(1)} fds ${s.fds} sockets ${s.sockets} threads ${s.threads} failures ${[...failures.values()].reduce((a, b) => a + b, 0)}`,
      );
    }
  }
  const runS = (performance.now() - t0) / 1000;
  const loadAfter = loadavg()[0];
  const end = samples[samples.length - 1];
  const inFlightAtEnd = (await serverCounts(child)).inFlight;

  // Pooled keep-alive connections of the shared clients close after their idle timeout (object_store 0.14.2
  // leaves reqwest 0.13.5's default of 90 s); wait it out and look again, with the server still up (a
  // closed server would close them from its side instead). A shorter --idle-wait fails the fd checks.
  let idle: Sample | undefined;
  if (idleWaitS > 0) {
    await new Promise((r) => setTimeout(r, idleWaitS * 1000));
    await settle();
    idle = sample(rounds + 1, opens, reads, t0);
  }
  const counts = await serverCounts(child);
  child.send('close');

  // Verdict. The warm baseline is the first sample after one round: client pools, runtime threads and
  // caches exist from then on.
  const warm = samples[1] ?? pre;
  const half = samples.slice(Math.floor(samples.length / 2));
  const opensHalf = half[half.length - 1].opens - half[0].opens;
  const rssSlope = slope(
    half.map((s) => s.opens),
    half.map((s) => s.rssMb),
  );
  const rssRise = rssSlope * opensHalf;
  const meanRss = half.reduce((a, s) => a + s.rssMb, 0) / half.length;
  const heapRise =
    slope(
      half.map((s) => s.opens),
      half.map((s) => s.heapUsedMb),
    ) * opensHalf;
  const externalRise =
    slope(
      half.map((s) => s.opens),
      half.map((s) => s.externalMb),
    ) * opensHalf;
  const peakRss = Math.max(...samples.map((s) => s.rssMb));
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  const last = idle ?? end;
  // After the idle wait every pooled connection has closed, so descriptors, sockets and threads must be
  // back to what the process had before the first open; without the wait, to the warm baseline.
  const base = idle ? pre : warm;
  const baseName = idle ? 'the baseline before the run' : 'the warm baseline';
  const fdFigures = (k: 'fds' | 'sockets' | 'threads') =>
    `${pre[k]} before, ${warm[k]} warm, ${end[k]} at the end, ${idle ? `${idle[k]} after ${idleWaitS} s idle` : 'no idle wait'}`;
  const checks: [string, boolean, string][] = [
    [
      'RSS flat over the last half',
      rssRise < 0.05 * meanRss,
      `fitted rise ${rssRise.toFixed(2)} MB over ${opensHalf} opens (limit 5% of the mean ${meanRss.toFixed(1)} MB)`,
    ],
    [`file descriptors back to ${baseName}`, last.fds <= base.fds, fdFigures('fds')],
    [`sockets back to ${baseName}`, last.sockets <= base.sockets, fdFigures('sockets')],
    [`threads back to ${baseName}`, last.threads <= base.threads, fdFigures('threads')],
    [
      'no Promise left pending',
      started === settled && hung === 0,
      `${started} started, ${settled} settled, ${hung} past the ${deadlineMs / 1000} s deadline`,
    ],
    ['no request in flight at the server', inFlightAtEnd === 0, `${inFlightAtEnd} in flight after the last round`],
    [
      'every open and read succeeded with the right values',
      failed === 0 && opens === totalOpens,
      `${opens}/${totalOpens} opens, ${reads} reads, ${failed} failures`,
    ],
  ];
  const pass = checks.every(([, ok]) => ok);

  mkdirSync(outDir, { recursive: true });
  const header = 'round,opens,reads,elapsed_s,rss_mb,heap_used_mb,external_mb,array_buffers_mb,fds,sockets,threads';
  const rows = [...samples, ...(idle ? [idle] : [])].map((s) =>
    [
      s.round,
      s.opens,
      s.reads,
      s.elapsedS.toFixed(2),
      s.rssMb.toFixed(2),
      s.heapUsedMb.toFixed(2),
      s.externalMb.toFixed(2),
      s.arrayBuffersMb.toFixed(2),
      s.fds,
      s.sockets,
      s.threads,
    ].join(','),
  );
  writeFileSync(join(outDir, 'rss.csv'), `${[header, ...rows].join('\n')}\n`);

  const f1 = (x: number) => x.toFixed(1);
  const niceness = getPriority();
  const command =
    `${niceness ? `nice -n ${niceness} ` : ''}node ${process.execArgv.join(' ')} ${relative(ROOT, process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim();
  const md = [
    '# Soak results',
    '',
    `Written by \`scripts/soak.ts\` on ${new Date().toISOString()} (commit ${commit}, Node ${process.version}, ` +
      `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}). Command: \`${command}\`` +
      ` (${workers} concurrent workers, ${readsPerOpen} chunk reads per open, one sample every ${every} opens). ` +
      `Addon binary built ${addonBuilt}. 1-minute load average ${loadBefore.toFixed(2)} at the start and ` +
      `${loadAfter.toFixed(2)} at the end: the machine was ${loadBefore + loadAfter > 2 ? 'shared with other work, so the rates are lower bounds' : 'otherwise idle'}.`,
    '',
    `**Verdict: ${pass ? 'PASS' : 'FAIL'}**`,
    '',
    '| check | result | figures |',
    '| --- | --- | --- |',
    ...checks.map(([what, ok, figures]) => `| ${what} | ${ok ? 'pass' : 'FAIL'} | ${figures} |`),
    '',
    '| figure | value |',
    '| --- | --- |',
    `| duration | ${f1(runS)} s (${idle ? `plus ${idleWaitS} s idle wait` : 'no idle wait'}) |`,
    `| opens | ${opens} (${f1(opens / runS)} /s) |`,
    `| chunk reads | ${reads} (${f1(reads / runS)} /s) |`,
    `| RSS | ${f1(pre.rssMb)} MB before, ${f1(warm.rssMb)} MB warm, ${f1(peakRss)} MB peak, ${f1(end.rssMb)} MB at the end |`,
    `| RSS slope, last half | ${(rssSlope * 1000 * 1024).toFixed(1)} KB per 1,000 opens |`,
    `| heap used | ${f1(pre.heapUsedMb)} MB before, ${f1(end.heapUsedMb)} MB at the end (fitted rise over the last half ${heapRise.toFixed(2)} MB) |`,
    `| external | ${f1(pre.externalMb)} MB before, ${f1(end.externalMb)} MB at the end (fitted rise over the last half ${externalRise.toFixed(2)} MB) |`,
    `| file descriptors | ${pre.fds} before, ${warm.fds} warm, ${end.fds} at the end${idle ? `, ${idle.fds} after idle` : ''} |`,
    `| sockets | ${pre.sockets} before, ${warm.sockets} warm, ${end.sockets} at the end${idle ? `, ${idle.sockets} after idle` : ''} |`,
    `| threads | ${pre.threads} before, ${warm.threads} warm, ${end.threads} at the end${idle ? `, ${idle.threads} after idle` : ''} |`,
    `| RSS after the idle wait | ${idle ? `${f1(idle.rssMb)} MB` : 'no idle wait'} |`,
    `| server | ${counts.gets} GETs, ${counts.rangedGets} ranged GETs, ${counts.heads} HEADs, ${counts.lists} LISTs, ${counts.connections} connections, ${(counts.bytes / MB).toFixed(0)} MB sent |`,
    '',
    'Opens and reads per source:',
    '',
    '| source | opens | chunk reads |',
    '| --- | --- | --- |',
    ...SOURCES.map((s) => `| ${s.label} | ${perSource.get(s.label)!.opens} | ${perSource.get(s.label)!.reads} |`),
    '',
    ...(failures.size ? ['Failures:', '', ...[...failures].map(([what, n]) => `- ${n} × ${what}`), ''] : []),
    `The curve is in \`rss.csv\` (one row per ${every} opens, taken after a forced GC with nothing in flight).`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'summary.md'), md);
  console.log(md);
  process.exit(pass ? 0 : 1);
}

// ---------------------------------------------------------------- entry: the soak, or the server child

if (process.argv.includes('--serve')) {
  void (async () => {
    const server = await serveBucket(FIXTURES, { bucket: BUCKET });
    process.on('message', async (m: string) => {
      if (m === 'counts') process.send!({ counts: server.counts });
      if (m === 'close') {
        await server.close();
        process.exit(0);
      }
    });
    process.send!({ url: server.url });
  })();
} else {
  void main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
