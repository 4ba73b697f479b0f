// A tiny run of the benchmark harness, so it cannot rot; its numbers are not asserted (benchmarks report,
// they do not pass or fail), only that every case runs and reports a fit, the throughput part reads, and the
// report renders.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test('the round-trip benchmark runs', (t) => {
  const out = execFileSync(process.execPath, ['--import=tsx', join(__dirname, '..', 'benchmark', 'bench.ts'), '--smoke'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  // Any fit counts, a negative slope too: one smoke run per latency beside the rest of the suite is noisy.
  const fits = out.split('\n').filter((l) => /T\(L\) ≈ -?[\d.]+ ms \+ -?[\d.]+·L/.test(l));
  t.is(fits.length, 6, out);
  // The contender harness ran each contender in fresh processes against the S3-speaking server.
  const contenders = out.split('\n').filter((l) => /^contender .* (rustytree|zarrita) open: L=0: \d+ ms/.test(l));
  t.is(contenders.length, 4, out);
  // The throughput part read the sample's moments from disk in fresh processes, and the report rendered.
  const throughput = out.split('\n').filter((l) => /^throughput .* (rustytree|zarrita): \d+ MB\/s/.test(l));
  t.is(throughput.length, 2, out);
  t.regex(out, /^report: \d+ lines$/m);
});
