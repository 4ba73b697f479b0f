// Memory handed back (issue 19, item 6): does RSS come back down once read results are released and
// garbage-collected? A local store of large gzip chunks (one more than cores, so every thread decodes and
// frees some) is opened, read in rounds of whole reads, then soaked with many mixed reads (whole, sliced,
// one chunk, aborted); after each round GC is forced and RSS sampled. Prints one JSON object.
//
//   node --import=tsx --expose-gc benchmark/memory-release.ts [--rounds 12] [--soak 10000]
//     [--chunk-mb 64] [--dir /tmp/rustytree-memory]
//
// Target: RSS after release within 1.3x the RSS after open, after the rounds and after the soak. A benchmark, not a test: __test__/memory.spec.ts runs it small.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openDatatree, type Variable } from '../index';
import * as native from '../native';

/** The target: RSS after release at most this many times the RSS after open. */
export const RSS_RELEASE_FACTOR = 1.3;

function arg(name: string, fallback: number | string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : String(fallback);
}

const MB = 2 ** 20;

/** Writes a one-array store of `chunks` gzip chunks of `chunkBytes` uint8 (compressible to about half). */
function writeStore(root: string, chunkBytes: number, chunks: number): void {
  if (existsSync(join(root, 'big', 'c', String(chunks - 1)))) return;
  mkdirSync(join(root, 'big', 'c'), { recursive: true });
  writeFileSync(join(root, 'zarr.json'), JSON.stringify({ zarr_format: 3, node_type: 'group', attributes: {} }));
  const codecs = [
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'gzip', configuration: { level: 1 } },
  ];
  writeFileSync(
    join(root, 'big', 'zarr.json'),
    JSON.stringify({
      zarr_format: 3,
      node_type: 'array',
      shape: [chunkBytes * chunks],
      data_type: 'uint8',
      chunk_grid: { name: 'regular', configuration: { chunk_shape: [chunkBytes] } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      fill_value: 0,
      codecs,
      dimension_names: ['n'],
      attributes: {},
    }),
  );
  const pattern = Buffer.alloc(1 << 16);
  for (let i = 0, x = 1; i < pattern.length; i++) pattern[i] = (x = Math.imul(x, 1103515245) + 12345) >>> 28;
  const compressed = gzipSync(Buffer.alloc(chunkBytes, pattern), { level: 1 });
  for (let i = 0; i < chunks; i++) writeFileSync(join(root, 'big', 'c', String(i)), compressed);
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS in MB after a forced GC, with nothing in flight. */
async function settledRssMb(): Promise<number> {
  // An aborted read settles at once, while its native task winds down (up to a chunk's decode): wait for it.
  for (const deadline = Date.now() + 10_000; native._aliveTasks() > 0 && Date.now() < deadline; ) await sleep(10);
  await nextTurn();
  global.gc?.();
  // Node runs the finalizers of collected external buffers (which free the Rust allocation) after the GC,
  // from the event loop: sampling at once would count the last read's output as retained.
  await sleep(50);
  return Math.round(process.memoryUsage().rss / MB);
}

/** One read of the soak's mix, chosen by `i` (one whole read in eight, large and small slices, chunks,
 * aborted reads); results are dropped. */
async function mixedRead(big: Variable, i: number, length: number, chunkBytes: number): Promise<void> {
  switch (i % 8) {
    case 0:
      await big.read({});
      return;
    case 1: {
      const start = (i * 7919 * 4096) % (length - chunkBytes);
      await big.read({ n: [start, start + chunkBytes + 4096] });
      return;
    }
    case 2:
    case 3:
    case 4:
      await big.readChunk([i % (length / chunkBytes)]);
      return;
    case 5:
    case 6: {
      const start = (i * 104729) % length;
      await big.read({ n: [start, Math.min(length, start + 65536)] });
      return;
    }
    default:
      // Aborted as soon as it started: whatever was allocated so far must be handed back too.
      await big.read({}, { signal: AbortSignal.timeout(1) }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  if (!global.gc) throw new Error('run with node --expose-gc');
  const rounds = Number(arg('rounds', 12));
  const soak = Number(arg('soak', 10000));
  const chunkBytes = Number(arg('chunk-mb', 64)) * MB;
  const chunks = availableParallelism() + 1;
  const root = join(arg('dir', '/tmp/rustytree-memory'), `store-${chunkBytes / MB}x${chunks}.zarr`);
  writeStore(root, chunkBytes, chunks);
  const tree = await openDatatree(root, { loadCoords: false });
  const big = tree.dataset.get('big')!;
  const rssOpenMb = await settledRssMb();
  // The first read starts the thread pools; what stays after it is sampled apart.
  await big.read({});
  const rssFirstReadMb = await settledRssMb();
  const roundsMb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await big.read({});
    roundsMb.push(await settledRssMb());
  }
  const length = chunkBytes * chunks;
  const soakMb: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < soak; i++) {
    await mixedRead(big, i, length, chunkBytes);
    if ((i + 1) % Math.max(1, Math.floor(soak / 10)) === 0) soakMb.push(await settledRssMb());
  }
  const rssAfterRoundsMb = roundsMb.at(-1) ?? rssOpenMb;
  const rssAfterSoakMb = soakMb.at(-1) ?? rssAfterRoundsMb;
  const readMb = Math.round(length / MB);
  console.log(
    JSON.stringify({
      chunkMb: chunkBytes / MB,
      chunks,
      readMb,
      rounds,
      soak,
      soakS: (Date.now() - t0) / 1000,
      rssOpenMb,
      rssFirstReadMb,
      roundsMb,
      soakMb,
      rssAfterRoundsMb,
      rssAfterSoakMb,
      roundsRatio: +(rssAfterRoundsMb / rssOpenMb).toFixed(2),
      soakRatio: +(rssAfterSoakMb / rssOpenMb).toFixed(2),
      verdict: Math.max(rssAfterRoundsMb, rssAfterSoakMb) <= RSS_RELEASE_FACTOR * rssOpenMb ? 'met' : 'missed',
      load: +loadavg()[0].toFixed(2),
    }),
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
