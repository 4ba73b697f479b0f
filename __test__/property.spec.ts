// Property tests (issue 8, "Bad input"): random selections, chunk coordinates and option objects against
// every fixture. Each call must either give exactly what xarray decoded (fixtures/expected/*.json, sliced
// the same way, NaN/NaT-aware) or reject with a RustytreeError carrying the code its inputs call for;
// never hang (every call has a deadline) and never crash the worker.
//
// The seed is fixed, so CI runs the same inputs every time. To explore further:
//   RUSTYTREE_PROPERTY_SEED=<n> RUSTYTREE_PROPERTY_RUNS=<multiplier> npx ava __test__/property.spec.ts
// A failure names the seed and fast-check's counterexample path, which replay it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  isRustytreeError,
  openDataset,
  openDatatree,
  readChunk,
  type DataTree,
  type Dataset,
  type ErrorCode,
  type NDArray,
  type OpenOptions,
  type Variable,
} from '../index';
import { FIXTURE_CASES } from './helpers/cases';
import { UNSUPPORTED_DTYPES } from './helpers/compare';
import { loadExpected, normalizeExpected, store, toJsonForm, type Expected, type ExpectedVariable } from './helpers/expected';

const SEED = Number(process.env.RUSTYTREE_PROPERTY_SEED ?? 20261124);
const SCALE = Number(process.env.RUSTYTREE_PROPERTY_RUNS ?? 1);
const DEADLINE_MS = 10_000;

/**
 * Runs `property` with the fixed seed. The report names the seed, the replay path, the failing input
 * (variables print as their label) and the assertion that failed.
 */
async function check<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const out = await fc.check(property, { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), endOnFailure: true });
  if (out.failed) {
    const error = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(
      `property failed after ${out.numRuns} runs (seed ${out.seed}, path ${JSON.stringify(out.counterexamplePath)}; replay with ` +
        `RUSTYTREE_PROPERTY_SEED=${out.seed})\ninput: ${fc.stringify(out.counterexample)}\nerror: ${error}`,
    );
  }
}

const CODES: readonly ErrorCode[] = [
  'ERR_NOT_FOUND',
  'ERR_INVALID_SOURCE',
  'ERR_INVALID_METADATA',
  'ERR_UNSUPPORTED_CODEC',
  'ERR_UNSUPPORTED_DTYPE',
  'ERR_UNSUPPORTED_FORMAT',
  'ERR_STORAGE',
  'ERR_PERMISSION_DENIED',
  'ERR_DECODE',
  'ERR_INVALID_SELECTION',
  'ERR_INVALID_ARGUMENT',
  'ERR_CF_DECODE',
  'ERR_ABORTED',
  'ERR_INTERNAL',
];

/** A read without options, with a live signal, or with one aborted before the call. */
type SignalKind = 'none' | 'live' | 'aborted';
const signalKind = fc.constantFrom<SignalKind>('none', 'none', 'live', 'aborted');
const readOptions = (kind: SignalKind) =>
  kind === 'none' ? {} : { signal: kind === 'aborted' ? AbortSignal.abort() : new AbortController().signal };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Settles `call()` within the deadline; a synchronous throw counts as a (wrong) rejection. */
async function settle<T>(call: () => Promise<T>, what: string): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return { ok: true, value: await Promise.race([call(), deadline]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('HANG:')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name} ${(e as { code?: string }).code ?? '(no code)'}: ${e.message}` : String(e);
}

/** The rejection carries one of `codes` (any stable code when `codes` is empty). */
function assertCoded(error: unknown, codes: ErrorCode[], what: string): void {
  const wanted = codes.length ? codes : [...CODES];
  if (!isRustytreeError(error, ...wanted))
    throw new Error(`${what}: expected a rejection with ${wanted.join(' | ')}, got ${describe(error)}`);
}

// ---------------------------------------------------------------- expected values

const product = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * xarray's values of `ev` over the box [start, stop) (C order), in the fixture's JSON form.
 * Dropped dimensions only change the shape, not the order of the values.
 */
function expectedBox(ev: ExpectedVariable, dtype: string, start: number[], stop: number[]): unknown[] {
  const values = ev.values ?? [];
  const strides = ev.shape.map((_, d) => product(ev.shape.slice(d + 1)));
  const out: unknown[] = [];
  if (stop.some((b, d) => b <= start[d])) return out;
  const idx = [...start];
  for (;;) {
    out.push(normalizeExpected(values[idx.reduce((a, i, d) => a + i * strides[d], 0)], dtype));
    let d = idx.length - 1;
    while (d >= 0 && ++idx[d] === stop[d]) {
      idx[d] = start[d];
      d--;
    }
    if (d < 0) return out;
  }
}

/** Throws unless `got` is the box [start, stop) of xarray's values with shape `shape`. */
function assertValues(
  got: NDArray,
  v: Variable,
  ev: ExpectedVariable,
  start: number[],
  stop: number[],
  shape: number[],
  what: string,
): void {
  const want = expectedBox(ev, v.dtype, start, stop);
  if (JSON.stringify(got.shape) !== JSON.stringify(shape))
    throw new Error(`${what}: shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(shape)}`);
  if (got.dtype !== v.dtype) throw new Error(`${what}: dtype ${got.dtype}, expected ${v.dtype}`);
  if (got.data.length !== want.length) throw new Error(`${what}: ${got.data.length} values, expected ${want.length}`);
  const strides = shape.map((_, d) => product(shape.slice(d + 1)));
  if (JSON.stringify(got.stride) !== JSON.stringify(strides))
    throw new Error(`${what}: stride ${JSON.stringify(got.stride)}, expected ${JSON.stringify(strides)}`);
  for (let i = 0; i < want.length; i++) {
    const value = toJsonForm(got.data, i, v.dtype);
    if (!Object.is(value, want[i]) && JSON.stringify(value) !== JSON.stringify(want[i])) {
      throw new Error(`${what}: value ${i} is ${JSON.stringify(value)}, xarray has ${JSON.stringify(want[i])}`);
    }
  }
}

// ---------------------------------------------------------------- the fixtures, opened once

/** One variable of one fixture case, with what xarray decoded for it. */
interface Target {
  label: string;
  variable: Variable;
  expected: ExpectedVariable;
  /** A data type with no JavaScript form: every valid read rejects with ERR_UNSUPPORTED_DTYPE. */
  unsupported: boolean;
  [fc.toStringMethod]: () => string;
}

interface Case {
  expectedName: string;
  storeName: string;
  options: OpenOptions;
  expected: Expected;
  icechunk: boolean;
  /** icechunk's on-disk format (1 or 2); undefined for plain Zarr. */
  specVersion?: number;
  [fc.toStringMethod]: () => string;
}

const CASES: Case[] = FIXTURE_CASES.map(([expectedName, storeName, options]) => ({
  expectedName,
  storeName,
  options,
  expected: loadExpected(expectedName),
  icechunk: storeName.endsWith('.icechunk'),
  specVersion: storeName.endsWith('.icechunk')
    ? (JSON.parse(readFileSync(`${store(storeName)}.versions.json`, 'utf8')) as { spec_version: number }).spec_version
    : undefined,
  [fc.toStringMethod]: () => `${expectedName} (${storeName} ${JSON.stringify(options)})`,
}));

let targetsPromise: Promise<Target[]> | undefined;

/** Every variable of every case that xarray decoded (variables left as cftime objects have no JS twin). */
function targets(): Promise<Target[]> {
  targetsPromise ??= (async () => {
    const out: Target[] = [];
    for (const c of CASES) {
      const tree = await openDatatree(store(c.storeName), c.options);
      let raw: DataTree | undefined;
      for (const [path, node] of Object.entries(c.expected.nodes)) {
        for (const [name, ev] of Object.entries(node.variables)) {
          if (ev.cftime || ev.values === null) continue;
          let source = tree;
          if (ev.reader === 'zarr-python') source = raw ??= await openDatatree(store(c.storeName), { ...c.options, decodeCf: false });
          const variable = source.get(path)?.dataset.get(name);
          if (!variable) throw new Error(`${c.expectedName}: no variable ${path}/${name}`);
          const unsupported = (UNSUPPORTED_DTYPES[c.expectedName] ?? []).includes(name);
          const label = `${c.expectedName} ${variable.path}`;
          // Printed by its label in failure reports, not with every expected value.
          out.push({ label, variable, expected: ev, unsupported, [fc.toStringMethod]: () => label });
        }
      }
    }
    return out;
  })();
  return targetsPromise;
}

test('the fixtures give the property tests a wide pool of variables', async (t) => {
  const pool = await targets();
  t.true(pool.length > 500, `${pool.length} variables`);
  t.true(
    pool.some((x) => x.variable.shape.length === 0),
    'scalars',
  );
  t.true(
    pool.some((x) => x.variable.shape.length >= 3),
    '3-D arrays',
  );
  t.true(
    pool.some((x) => x.variable.dtype === 'datetime64[ns]'),
    'datetimes',
  );
  t.true(
    pool.some((x) => x.variable.dtype === 'string'),
    'strings',
  );
  t.true(
    pool.some((x) => x.unsupported),
    'an unsupported data type',
  );
});

/**
 * The verdict on one read: invalid input must reject with ERR_INVALID_SELECTION (checked before the
 * signal), a read with an aborted signal with ERR_ABORTED, a read of a data type with no JS form with
 * ERR_UNSUPPORTED_DTYPE; any other read must resolve, and its array is returned for comparison
 * (undefined after an expected rejection).
 */
function expectRead(got: Outcome<NDArray>, target: Target, valid: boolean, signal: SignalKind, what: string): NDArray | undefined {
  const code: ErrorCode | undefined = !valid
    ? 'ERR_INVALID_SELECTION'
    : signal === 'aborted'
      ? 'ERR_ABORTED'
      : target.unsupported
        ? 'ERR_UNSUPPORTED_DTYPE'
        : undefined;
  if (code) {
    if (got.ok) throw new Error(`${what}: resolved with shape ${JSON.stringify(got.value.shape)}, expected ${code}`);
    assertCoded(got.error, [code], what);
    return undefined;
  }
  if (!got.ok) throw new Error(`${what}: rejected ${describe(got.error)}`);
  return got.value;
}

// ---------------------------------------------------------------- selections

/** One dimension's part of a selection, and what it means if it is valid. */
interface DimPick {
  value: unknown;
  omitted: boolean;
  valid: boolean;
  start: number;
  stop: number;
  drop: boolean;
}

function dimPick(size: number): fc.Arbitrary<DimPick> {
  const ok = (value: unknown, start: number, stop: number, drop: boolean): DimPick => ({
    value,
    omitted: false,
    valid: true,
    start,
    stop,
    drop,
  });
  const bad = (value: unknown): DimPick => ({ value, omitted: false, valid: false, start: 0, stop: 0, drop: false });
  const choices: fc.WeightedArbitrary<DimPick>[] = [
    { weight: 4, arbitrary: fc.constant({ value: undefined, omitted: true, valid: true, start: 0, stop: size, drop: false }) },
    // Out of range, negative (no Python-style counting from the end), huge, not whole, not finite.
    { weight: 2, arbitrary: fc.integer({ min: size, max: size + 3 }).map(bad) },
    { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }).map(bad) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 53, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.5, size - 0.5).map(bad) },
    // Valid-looking ranges that are reversed or out of bounds.
    {
      weight: 2,
      arbitrary: fc.tuple(fc.integer({ min: 1, max: size + 2 }), fc.integer({ min: 1, max: 3 })).map(([a, k]) => bad([a, a - k])),
    },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: -4, max: -1 }), fc.integer({ min: 0, max: size })).map(([a, b]) => bad([a, b])) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 0, max: size }), fc.integer({ min: size + 1, max: size + 4 })).map(([a, b]) => bad([a, b])),
    },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: size }), fc.constantFrom(0.5, NaN, Infinity)).map(([a, x]) => bad([a, x])) },
    // Not an index or a pair at all.
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<unknown>('0', '0:1', null, true, {}, [], [0], [0, 1, 2], 0n, Symbol('x'), () => 0, new Date(0), {
          0: 0,
          1: 1,
          length: 2,
        })
        .map(bad),
    },
  ];
  if (size > 0) {
    // -0 is index 0, as in numpy.
    choices.push({ weight: 4, arbitrary: fc.integer({ min: 0, max: size - 1 }).map((i) => ok(i, i, i + 1, true)) });
    choices.push({ weight: 1, arbitrary: fc.constant(ok(-0, 0, 1, true)) });
  }
  // Ranges, empty ones included.
  choices.push({
    weight: 4,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: size }), fc.integer({ min: 0, max: size })).map(([a, b]) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      return ok([lo, hi], lo, hi, false);
    }),
  });
  return fc.oneof(...choices);
}

// Keys that are not dimensions: prototype names, case variants, the empty string, random text.
const foreignKey = (dims: string[]) =>
  fc
    .oneof(
      fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '', '0', 'length'),
      fc.string({ minLength: 1, maxLength: 8 }),
      ...(dims.length ? [fc.constantFrom(...dims).map((d) => (d.toUpperCase() === d ? `${d}_` : d.toUpperCase()))] : []),
    )
    .filter((k) => !dims.includes(k));

interface SelectionCase {
  target: Target;
  signal: SignalKind;
  picks: DimPick[];
  foreign: [string, unknown][];
}

const selectionCase = (pool: Target[]): fc.Arbitrary<SelectionCase> =>
  fc.nat({ max: pool.length - 1 }).chain((i) => {
    const target = pool[i];
    const { dims, shape } = target.variable;
    return fc.record({
      target: fc.constant(target),
      signal: signalKind,
      picks: fc.tuple(...shape.map(dimPick)),
      foreign: fc.oneof(
        { weight: 5, arbitrary: fc.constant([] as [string, unknown][]) },
        {
          weight: 1,
          arbitrary: fc.array(fc.tuple(foreignKey(dims), fc.oneof(fc.nat(3), fc.constant([0, 1]))), { minLength: 1, maxLength: 2 }),
        },
      ),
    });
  });

/** The selection as an object with own properties only (`__proto__` as a key, not the prototype). */
function selectionObject(c: SelectionCase): Record<string, unknown> {
  const sel: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => Object.defineProperty(sel, k, { value: v, enumerable: true, writable: true, configurable: true });
  c.target.variable.dims.forEach((dim, d) => {
    if (!c.picks[d].omitted) put(dim, c.picks[d].value);
  });
  for (const [k, v] of c.foreign) put(k, v);
  return sel;
}

test.serial('random selections read what xarray decoded, or reject with ERR_INVALID_SELECTION', async (t) => {
  const pool = await targets();
  let values = 0;
  let rejected = 0;
  await check(
    fc.asyncProperty(selectionCase(pool), async (c) => {
      const { variable: v, expected: ev } = c.target;
      const sel = selectionObject(c);
      const what = `${c.target.label} read(${fc.stringify(sel)}, signal ${c.signal})`;
      const valid = c.foreign.length === 0 && c.picks.every((p) => p.valid);
      const got = await settle(() => v.read(sel as never, readOptions(c.signal)), what);
      const array = expectRead(got, c.target, valid, c.signal, what);
      if (!array) {
        rejected++;
        return;
      }
      const shape = c.picks.filter((p) => !p.drop).map((p) => p.stop - p.start);
      assertValues(
        array,
        v,
        ev,
        c.picks.map((p) => p.start),
        c.picks.map((p) => p.stop),
        shape,
        what,
      );
      values++;
    }),
    1000,
  );
  // Both sides of the property were exercised.
  t.log(`${values} reads compared with xarray, ${rejected} rejections`);
  t.true(values > 100 * SCALE && rejected > 100 * SCALE, `${values} reads compared, ${rejected} rejections`);
});

// ---------------------------------------------------------------- chunk coordinates

interface ChunkCase {
  target: Target;
  signal: SignalKind;
  coords: unknown;
  viaFunction: boolean;
}

function chunkCoords(v: Variable): fc.Arbitrary<unknown> {
  const grid = v.shape.map((s, d) => Math.ceil(s / v.chunks[d]));
  const coord = (n: number) =>
    fc.oneof(
      ...(n > 0 ? [{ weight: 6, arbitrary: fc.integer({ min: 0, max: n - 1 }) }] : []),
      { weight: 1, arbitrary: fc.integer({ min: n, max: n + 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(NaN, Infinity, 0.5, 2 ** 53, '0', null, undefined, 0n, [0]) },
    );
  return fc.oneof(
    { weight: 8, arbitrary: grid.length ? fc.tuple(...grid.map(coord)) : fc.constant([]) },
    // Too few or too many coordinates.
    { weight: 1, arbitrary: fc.array(fc.nat(2), { maxLength: grid.length + 2 }).filter((a) => a.length !== grid.length) },
    // Not an array.
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(null, undefined, 0, '0', '000', { length: grid.length }, new Uint32Array(grid.length)),
    },
  );
}

const chunkCase = (pool: Target[]): fc.Arbitrary<ChunkCase> =>
  fc
    .nat({ max: pool.length - 1 })
    .chain((i) =>
      fc.record({ target: fc.constant(pool[i]), coords: chunkCoords(pool[i].variable), viaFunction: fc.boolean(), signal: signalKind }),
    );

test.serial('random chunk coordinates read the chunk xarray would slice, or reject with ERR_INVALID_SELECTION', async (t) => {
  const pool = await targets();
  let values = 0;
  let rejected = 0;
  await check(
    fc.asyncProperty(chunkCase(pool), async (c) => {
      const v = c.target.variable;
      const what = `${c.target.label} ${c.viaFunction ? 'readChunk(v, ' : 'v.readChunk('}${fc.stringify(c.coords)}) chunks ${JSON.stringify(v.chunks)}, signal ${c.signal}`;
      const coords = c.coords as number[];
      const grid = v.shape.map((s, d) => Math.ceil(s / v.chunks[d]));
      const valid =
        Array.isArray(coords) && coords.length === grid.length && coords.every((x, d) => Number.isInteger(x) && x >= 0 && x < grid[d]);
      const options = readOptions(c.signal);
      const got = await settle(() => (c.viaFunction ? readChunk(v, coords, options) : v.readChunk(coords, options)), what);
      const array = expectRead(got, c.target, valid, c.signal, what);
      if (!array) {
        rejected++;
        return;
      }
      const start = coords.map((x, d) => x * v.chunks[d]);
      const stop = coords.map((x, d) => Math.min((x + 1) * v.chunks[d], v.shape[d]));
      assertValues(
        array,
        v,
        c.target.expected,
        start,
        stop,
        stop.map((b, d) => b - start[d]),
        what,
      );
      values++;
    }),
    1000,
  );
  t.log(`${values} chunks compared with xarray, ${rejected} rejections`);
  t.true(values > 150 * SCALE && rejected > 50 * SCALE, `${values} chunks compared, ${rejected} rejections`);
});

// ---------------------------------------------------------------- option objects

/**
 * One option (or a few that belong together) and what it implies: `must` codes make the open reject
 * (with one of the codes of all the parts), `may` codes are allowed rejections, `changesValues` means
 * the result no longer matches the case's expected file, `group` re-roots it.
 */
interface Part {
  set: Record<string, unknown>;
  unset?: string[];
  must?: ErrorCode[];
  may?: ErrorCode[];
  changesValues?: boolean;
  group?: string;
  filtered?: boolean;
}

const IA: ErrorCode[] = ['ERR_INVALID_ARGUMENT'];
const NF: ErrorCode[] = ['ERR_NOT_FOUND'];
const none: Part = { set: {} };
const part = (set: Record<string, unknown>, more: Omit<Part, 'set'> = {}): Part => ({ set, ...more });
// Values of the wrong type for any option (strings are right for some, so they are added per option).
const wrongTypes = fc.constantFrom<unknown>(1, null, [], {}, 0n, true, new Date(0));

/** The version selector: restated, in conflict, unknown or malformed, relative to the case's own. */
function versionPart(c: Case): fc.Arbitrary<Part> {
  const selectors = ['branch', 'tag', 'snapshotId', 'asOf'];
  if (!c.icechunk) {
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(none) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom<Record<string, unknown>>(
            { branch: 'main' },
            { tag: 'v1' },
            { snapshotId: 'AAAAAAAAAAAAAAAAAAAA' },
            { asOf: '2100-01-01T00:00:00Z' },
          )
          .map((s) => part(s, { must: IA })),
      },
    );
  }
  const own = c.options.tag !== undefined ? 'tag' : c.options.snapshotId !== undefined ? 'snapshotId' : 'branch';
  const ownValue = own === 'branch' ? (c.options.branch ?? 'main') : c.options[own as 'tag' | 'snapshotId'];
  const replace = (set: Record<string, unknown>, more: Omit<Part, 'set'>) => part(set, { unset: selectors, ...more });
  const restated: Part[] = [replace({ [own]: ownValue }, {})];
  // A time after every commit selects the branch's head.
  if (own === 'branch')
    restated.push(
      replace({ branch: ownValue, asOf: '2100-01-01T00:00:00Z' }, {}),
      replace({ branch: ownValue, asOf: new Date(Date.UTC(2100, 0, 1)) }, {}),
    );
  // Two selectors at once (a branch with a time is the one allowed pair).
  const others = { branch: 'main', tag: 'v1', snapshotId: 'AAAAAAAAAAAAAAAAAAAA', asOf: '2100-01-01T00:00:00Z' } as Record<string, unknown>;
  const conflicts: Part[] = Object.keys(others)
    .filter((k) => k !== own && !(own === 'branch' && k === 'asOf'))
    .map((k) => replace({ [own]: ownValue, [k]: others[k] }, { must: IA }));
  const unknown: Part[] = [
    replace({ branch: 'no-such-branch' }, { must: NF }),
    replace({ tag: 'no-such-tag' }, { must: NF }),
    replace({ snapshotId: 'not-an-id' }, { must: IA }),
    replace({ asOf: 'yesterday' }, { must: IA }),
  ];
  unknown.push(
    replace({ snapshotId: 'AAAAAAAAAAAAAAAAAAAA' }, { must: NF }),
    replace({ branch: own === 'branch' ? ownValue : 'main', asOf: new Date(0) }, { must: NF }),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(none) },
    { weight: 2, arbitrary: fc.constantFrom(...restated) },
    { weight: 2, arbitrary: fc.constantFrom(...conflicts) },
    { weight: 2, arbitrary: fc.constantFrom(...unknown) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...selectors), wrongTypes)
        .filter(([k, v]) => !(k === 'asOf' && v instanceof Date))
        .map(([k, v]) => replace({ [k]: v }, { must: IA })),
    },
  );
}

function groupPart(c: Case): fc.Arbitrary<Part> {
  const groups = Object.keys(c.expected.nodes);
  const arrays = Object.entries(c.expected.nodes).flatMap(([p, n]) =>
    Object.keys(n.variables).map((v) => (p === '/' ? `/${v}` : `${p}/${v}`)),
  );
  // The same group written the ways users write it.
  const spelled = fc
    .tuple(fc.constantFrom(...groups), fc.constantFrom('', '/', '//'), fc.constantFrom('', '/', '//'))
    .map(([g, lead, trail]) => {
      const bare = g.replace(/^\//, '');
      return part({ group: bare === '' ? lead : `${lead}${bare}${trail}` }, { group: g });
    });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(none) },
    { weight: 3, arbitrary: spelled },
    { weight: 1, arbitrary: fc.constantFrom(part({ group: '/no_such_group' }, { must: NF }), part({ group: arrays[0] }, { must: NF })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        part({ group: '..' }, { must: IA }),
        part({ group: '/a/../b' }, { must: IA }),
        part({ group: './x' }, { must: IA }),
      ),
    },
    { weight: 1, arbitrary: wrongTypes.map((v) => part({ group: v }, { must: IA })) },
  );
}

const groupFilterPart: fc.Arbitrary<Part> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(none) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('*', '**', '/*', '/*/*', '/*/sweep_0', 'sweep_[01]', '/VCP-1?/**', '{a,b}', '/nothing')
      .map((g) => part({ groupFilter: g }, { filtered: true })),
  },
  { weight: 1, arbitrary: fc.constantFrom('[', '', '\\', '[!]', 'a[b', '/x/[').map((g) => part({ groupFilter: g }, { must: IA })) },
  // Random text: a pattern or not, but never anything other than a tree or ERR_INVALID_ARGUMENT.
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((g) => part({ groupFilter: g }, { may: IA, filtered: true })) },
  { weight: 1, arbitrary: wrongTypes.map((v) => part({ groupFilter: v }, { must: IA })) },
);

function flagPart(
  c: Case,
  key: 'decodeCf' | 'maskAndScale' | 'decodeTimes' | 'decodeTimedelta' | 'loadCoords' | 'inheritCoords',
): fc.Arbitrary<Part> {
  const current = c.options[key];
  const decodes = key === 'decodeCf' || key === 'maskAndScale' || key === 'decodeTimes' || key === 'decodeTimedelta';
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(none) },
    {
      weight: 3,
      arbitrary: fc.boolean().map((b) => {
        // Restating a default (or the case's own value) changes nothing; decodeTimedelta has no neutral value.
        const neutral = key === 'decodeTimedelta' ? false : b === (current ?? true);
        return part({ [key]: b }, { changesValues: decodes && !neutral });
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          wrongTypes.filter((v) => typeof v !== 'boolean'),
          fc.constantFrom('true', 'false', ''),
        )
        .map((v) => part({ [key]: v }, { must: IA })),
    },
  );
}

const maxConcurrencyPart: fc.Arbitrary<Part> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(none) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(65536)).map((n) => part({ maxConcurrency: n })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, 65537, 2 ** 53, '8', null, true)
      .map((n) => part({ maxConcurrency: n }, { must: IA })),
  },
);

const enginePart = (c: Case): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(none) },
    { weight: 1, arbitrary: fc.constant(part({ engine: c.icechunk ? 'icechunk' : 'zarr' })) },
    { weight: 1, arbitrary: fc.constant(part({ engine: c.icechunk ? 'zarr' : 'icechunk' }, { must: NF })) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('ZARR', 'zarr2', '', 5, null).map((e) => part({ engine: e }, { must: IA })) },
  );

const storagePart = (c: Case): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(none) },
    { weight: 1, arbitrary: fc.constant(part({ storageOptions: {} })) },
    // Object-store settings do not apply to a local path.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>({ region: 'us-east-1' }, { anonymous: true }, { bogus: 'x' }, 5, null, 'x', { region: NaN })
        .map((s) => part({ storageOptions: s }, { must: IA })),
    },
    // icechunk's reader settings, like its version selectors, do not apply to plain Zarr.
    {
      weight: 1,
      arbitrary: fc.constant(
        part({ icechunkCaching: { chunkBytes: 1 << 20, snapshotNodes: 1000 } }, { must: c.icechunk ? undefined : IA }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>({ chunkBytes: -1 }, { chunkBytes: 1.5 }, { bogus: 1 }, 'big', null)
        .map((s) => part({ icechunkCaching: s }, { must: IA })),
    },
    { weight: 1, arbitrary: fc.constant(part({ virtualChunkContainers: [] })) },
    // A container the repository does not declare; plain Zarr has no containers at all.
    { weight: 1, arbitrary: fc.constant(part({ virtualChunkContainers: ['s3://no-such-container/'] }, { must: IA })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>(5, 's3://x/', [5], [{ prefix: 5 }], [{ prefix: 's3://x/', bogus: 1 }])
        .map((s) => part({ virtualChunkContainers: s }, { must: IA })),
    },
  );

const KNOWN = new Set([
  'group',
  'groupFilter',
  'decodeCf',
  'maskAndScale',
  'decodeTimes',
  'decodeTimedelta',
  'loadCoords',
  'inheritCoords',
  'maxConcurrency',
  'signal',
  'engine',
  'branch',
  'tag',
  'snapshotId',
  'asOf',
  'storageOptions',
  'virtualChunkContainers',
  'icechunkCaching',
]);

const unknownKeyPart: fc.Arbitrary<Part> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(none) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.constantFrom('bogus', 'Group', 'max_concurrency', 'constructor', 'toString', '__proto__', ''),
          fc.string({ minLength: 1, maxLength: 12 }),
        ),
        fc.anything(),
      )
      .filter(([k]) => !KNOWN.has(k))
      .map(([k, v]) => part({ [`\u0000own:${k}`]: v }, { must: IA })),
  },
);

const signalPart: fc.Arbitrary<Part> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(none) },
  { weight: 1, arbitrary: fc.constant(part({ signal: 'live' })) },
  { weight: 1, arbitrary: fc.constant(part({ signal: 'aborted' }, { must: ['ERR_ABORTED'] })) },
);

interface OptionsCase {
  c: Case;
  parts: Part[];
  dataset: boolean;
  picks: number[];
}

const optionsCase: fc.Arbitrary<OptionsCase> = fc.constantFrom(...CASES).chain((c) =>
  fc
    .record({
      c: fc.constant(c),
      parts: fc.tuple(
        versionPart(c),
        groupPart(c),
        groupFilterPart,
        flagPart(c, 'decodeCf'),
        flagPart(c, 'maskAndScale'),
        flagPart(c, 'decodeTimes'),
        flagPart(c, 'decodeTimedelta'),
        flagPart(c, 'loadCoords'),
        flagPart(c, 'inheritCoords'),
        maxConcurrencyPart,
        enginePart(c),
        storagePart(c),
        unknownKeyPart,
        signalPart,
      ),
      // At most three options beyond the case's own per run, so that some combinations are valid.
      keep: fc.subarray([...Array(14).keys()], { maxLength: 3 }),
      dataset: fc.boolean(),
      picks: fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
    })
    .map(({ parts, keep, ...rest }) => ({ ...rest, parts: keep.map((i) => parts[i]) })),
);

/** The options object of a case: own properties only, signals made fresh for each run. */
function buildOptions(oc: OptionsCase): Record<string, unknown> {
  const out: Record<string, unknown> = { ...oc.c.options };
  for (const p of oc.parts) for (const k of p.unset ?? []) delete out[k];
  for (const p of oc.parts) {
    for (const [k, v] of Object.entries(p.set)) {
      const key = k.startsWith('\u0000own:') ? k.slice('\u0000own:'.length) : k;
      const value = key === 'signal' ? (v === 'aborted' ? AbortSignal.abort() : new AbortController().signal) : v;
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** Compares the opened tree or dataset with the case's expected file, re-rooted at `group`. */
async function assertOpened(result: DataTree | Dataset, oc: OptionsCase, group: string, filtered: boolean, what: string): Promise<void> {
  const expected = oc.c.expected.nodes;
  const under = (p: string) => (group === '/' ? p : p === '/' ? group : `${group}${p}`);
  let datasets: [string, ReadonlyMap<string, Variable>][];
  if (oc.dataset) {
    const ds = result as Dataset;
    datasets = [['/', ds.variables]];
    const own = Object.keys(expected[group].variables).sort();
    const got = [...ds.variables.keys()].sort();
    if (JSON.stringify(got) !== JSON.stringify(own)) throw new Error(`${what}: dataset variables ${got}, expected ${own}`);
  } else {
    const tree = result as DataTree;
    const paths = [...tree.subtree].map((n) => n.path);
    const want = Object.keys(expected)
      .filter((p) => p === group || p.startsWith(group === '/' ? '/' : `${group}/`))
      .map((p) => (group === '/' ? p : p.slice(group.length) || '/'))
      .sort();
    if (paths.some((p) => !want.includes(p))) throw new Error(`${what}: nodes ${paths} are not all in ${want}`);
    if (!filtered && JSON.stringify([...paths].sort()) !== JSON.stringify(want))
      throw new Error(`${what}: nodes ${paths}, expected ${want}`);
    datasets = [...tree.subtree].map((n) => [n.path, n.dataset.variables]);
  }
  // Two variables, chosen by the case, read whole and compared with xarray.
  const candidates: [Variable, ExpectedVariable][] = [];
  for (const [path, vars] of datasets) {
    for (const [name, ev] of Object.entries(expected[under(path)]?.variables ?? {})) {
      const v = vars.get(name);
      if (!v) throw new Error(`${what}: ${path} has no variable ${name}`);
      if (!ev.cftime && ev.values !== null && ev.reader !== 'zarr-python' && !(UNSUPPORTED_DTYPES[oc.c.expectedName] ?? []).includes(name))
        candidates.push([v, ev]);
    }
  }
  for (const pick of oc.picks) {
    if (!candidates.length) return;
    const [v, ev] = candidates[pick % candidates.length];
    const got = await settle(() => v.read(), `${what} ${v.path}.read()`);
    if (!got.ok) throw new Error(`${what}: ${v.path}.read() rejected ${describe(got.error)}`);
    assertValues(
      got.value,
      v,
      ev,
      v.shape.map(() => 0),
      v.shape,
      v.shape,
      `${what} ${v.path}`,
    );
  }
}

test.serial('random option objects open what xarray decoded, or reject with the code the options call for', async (t) => {
  let opened = 0;
  let compared = 0;
  let rejected = 0;
  await check(
    fc.asyncProperty(optionsCase, async (oc) => {
      const options = buildOptions(oc);
      const open = oc.dataset ? openDataset : openDatatree;
      const what = `${open.name}(${oc.c.storeName}, ${fc.stringify(options)})`;
      const must = new Set<ErrorCode>();
      const may = new Set<ErrorCode>();
      for (const p of oc.parts) {
        p.must?.forEach((code) => must.add(code));
        p.may?.forEach((code) => may.add(code));
      }
      if (oc.dataset && options.groupFilter !== undefined) must.add('ERR_INVALID_ARGUMENT');
      // Forcing the Zarr engine onto a repository while naming a version is an argument error too.
      if (options.engine === 'zarr' && ['branch', 'tag', 'snapshotId', 'asOf'].some((k) => options[k] !== undefined))
        must.add('ERR_INVALID_ARGUMENT');
      const got = await settle<DataTree | Dataset>(() => open(store(oc.c.storeName), options as OpenOptions), what);
      if (!got.ok) {
        if (must.size === 0 && !may.size) throw new Error(`${what}: rejected ${describe(got.error)}`);
        assertCoded(got.error, [...must, ...may], what);
        rejected++;
        return;
      }
      if (must.size) throw new Error(`${what}: opened, expected ${[...must].join(' | ')}`);
      opened++;
      if (oc.parts.some((p) => p.changesValues)) return;
      const group = oc.parts.find((p) => p.group)?.group ?? '/';
      await assertOpened(
        got.value,
        oc,
        group,
        oc.parts.some((p) => p.filtered),
        what,
      );
      compared++;
    }),
    400,
  );
  t.log(`${opened} opened (${compared} compared with xarray), ${rejected} rejected`);
  t.true(
    opened > 30 * SCALE && compared > 15 * SCALE && rejected > 30 * SCALE,
    `${opened} opened (${compared} compared with xarray), ${rejected} rejected`,
  );
});

// ---------------------------------------------------------------- defects the properties found

async function nexradDbzh(): Promise<Variable> {
  const tree = await openDatatree(store('nexrad.zarr'));
  return tree.get('/VCP-12/sweep_0')!.dataset.get('DBZH')!;
}

// Fixed defect: `read(null)` threw a TypeError ("Cannot convert undefined or null to object") from
// Object.keys in ts/variable.ts instead of rejecting with a coded error; `read(5)` and `read([])` read the
// whole array as if no selection had been given.
test('a selection that is not an object rejects with ERR_INVALID_SELECTION', async (t) => {
  const v = await nexradDbzh();
  for (const sel of [null, 5, [], 'x']) {
    const got = await settle(() => v.read(sel as never), `read(${String(sel)})`);
    t.false(got.ok, `read(${JSON.stringify(sel)}) resolved`);
    if (!got.ok) t.true(isRustytreeError(got.error, 'ERR_INVALID_SELECTION', 'ERR_INVALID_ARGUMENT'), describe(got.error));
  }
});

// Fixed defect: read options that were null, or a `signal` that was not an AbortSignal, threw a TypeError
// ("Cannot read properties of null (reading 'signal')", "signal.addEventListener is not a function")
// from ts/variable.ts and ts/cancel.ts instead of rejecting with ERR_INVALID_ARGUMENT.
test('read options that are not an object, or a signal that is not an AbortSignal, reject with ERR_INVALID_ARGUMENT', async (t) => {
  const v = await nexradDbzh();
  const calls: [string, () => Promise<unknown>][] = [
    ['read({}, null)', () => v.read({}, null as never)],
    ['readChunk([0, 0, 0], null)', () => v.readChunk([0, 0, 0], null as never)],
    ['read({}, { signal: 5 })', () => v.read({}, { signal: 5 } as never)],
    ['readChunk([0, 0, 0], { signal: {} })', () => v.readChunk([0, 0, 0], { signal: {} } as never)],
  ];
  for (const [what, call] of calls) {
    const got = await settle(call, what);
    t.false(got.ok, `${what} resolved`);
    if (!got.ok) t.true(isRustytreeError(got.error, 'ERR_INVALID_ARGUMENT'), `${what}: ${describe(got.error)}`);
  }
});

// Fixed defect: an open with `signal` set to something other than an AbortSignal threw a TypeError
// ("signal.addEventListener is not a function", ts/cancel.ts) instead of ERR_INVALID_ARGUMENT: checkOptions
// in ts/open.ts did not check the type of `signal`.
test('an open whose signal is not an AbortSignal rejects with ERR_INVALID_ARGUMENT', async (t) => {
  for (const signal of [5, {}, 'abort', true]) {
    const got = await settle(() => openDatatree(store('nexrad.zarr'), { signal } as never), `signal ${JSON.stringify(signal)}`);
    t.false(got.ok);
    if (!got.ok) t.true(isRustytreeError(got.error, 'ERR_INVALID_ARGUMENT'), describe(got.error));
  }
});

// Fixed defect: `readChunk(null, [0])` (and any non-Variable) threw a TypeError synchronously
// ("Cannot read properties of null (reading 'readChunk')") from ts/open.ts: the function was not async, so
// callers that only attached .catch() saw an uncaught exception instead of a coded rejection.
test('readChunk with something that is not a Variable rejects with ERR_INVALID_ARGUMENT', async (t) => {
  for (const variable of [null, undefined, {}, 'DBZH']) {
    let promise: Promise<unknown> | undefined;
    try {
      promise = readChunk(variable as never, [0]);
    } catch (e) {
      t.fail(`readChunk(${JSON.stringify(variable)}) threw synchronously: ${describe(e)}`);
      continue;
    }
    const got = await settle(() => promise!, 'readChunk');
    t.false(got.ok);
    if (!got.ok) t.true(isRustytreeError(got.error, 'ERR_INVALID_ARGUMENT'), describe(got.error));
  }
});

// Format V1 repositories (icechunk-python 1.x) are read through icechunk's Repository, whose errors for
// these two were ERR_STORAGE ("object not found", "does not have a snapshots before"); now ERR_NOT_FOUND.
test('a format V1 repository reports an unknown snapshot or a time before its history as ERR_NOT_FOUND', async (t) => {
  const v1 = store('../icechunk/radar_v1.icechunk');
  for (const options of [{ snapshotId: 'AAAAAAAAAAAAAAAAAAAA' }, { asOf: new Date(0) }]) {
    const got = await settle(() => openDatatree(v1, options), JSON.stringify(options));
    t.false(got.ok);
    if (!got.ok) t.true(isRustytreeError(got.error, 'ERR_NOT_FOUND'), `${JSON.stringify(options)}: ${describe(got.error)}`);
  }
});
