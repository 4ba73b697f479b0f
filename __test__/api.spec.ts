// The public API, so that a change to it shows in review: every name the package entry exports (values and
// types, read from the declarations tsc writes to dist/ with their kind: the typed members of classes and
// interfaces, the text of type aliases, the signatures of functions), and the runtime shape of each exported class (static
// members, prototype methods and accessors, the own fields of an instance) are compared with the committed
// snapshot __test__/snapshots/api.json.
//
// When the API changes on purpose, update the snapshot in the same commit and let the review see its diff:
//
//   npm run build:ts && RUSTYTREE_UPDATE_API_SNAPSHOT=1 npx ava __test__/api.spec.ts
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as api from '../index';
import { store } from './helpers/expected';

const SNAPSHOT = join(__dirname, 'snapshots', 'api.json');
const UPDATE = process.env.RUSTYTREE_UPDATE_API_SNAPSHOT === '1';

const byName = <T>(entries: [string, T][]) => Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** What a declaration of the package entry is: kind, and its members, type text or signature. */
function describeDeclaration(checker: ts.TypeChecker, symbol: ts.Symbol): unknown {
  const flags = symbol.flags;
  const typed = (members: ts.Symbol[]) =>
    members
      .filter((m) => m.name !== 'prototype')
      .map((m) => `${m.name}${m.flags & ts.SymbolFlags.Optional ? '?' : ''}: ${oneLine(checker.typeToString(checker.getTypeOfSymbol(m)))}`)
      .sort();
  if (flags & ts.SymbolFlags.Class) {
    // Its own static members only, not those it inherits (Error's come from @types/node).
    const own = (m: ts.Symbol) => m.declarations?.some((d) => symbol.declarations?.includes(d.parent as ts.Declaration)) ?? false;
    const statics = typed(checker.getTypeOfSymbol(symbol).getProperties().filter(own));
    return { class: typed(checker.getDeclaredTypeOfSymbol(symbol).getProperties()), ...(statics.length > 0 ? { static: statics } : {}) };
  }
  if (flags & ts.SymbolFlags.Function) {
    const type = checker.getTypeOfSymbol(symbol);
    return { function: type.getCallSignatures().map((s) => oneLine(checker.signatureToString(s))) };
  }
  if (flags & ts.SymbolFlags.Interface) {
    const members = checker.getDeclaredTypeOfSymbol(symbol).getProperties();
    return { interface: members.map((m) => `${m.name}${m.flags & ts.SymbolFlags.Optional ? '?' : ''}`).sort() };
  }
  if (flags & ts.SymbolFlags.TypeAlias) {
    const declaration = symbol.declarations?.find(ts.isTypeAliasDeclaration);
    return { type: declaration ? oneLine(declaration.type.getText()) : '?' };
  }
  if (flags & ts.SymbolFlags.Variable) return { const: oneLine(checker.typeToString(checker.getTypeOfSymbol(symbol))) };
  return `flags ${flags}`;
}

/** Every export of index.d.ts, by name. */
function declaredApi(): Record<string, unknown> {
  const entry = join(__dirname, '..', 'index.d.ts');
  const program = ts.createProgram([entry], { strict: true, noEmit: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return byName(
    checker.getExportsOfModule(module).map((exported): [string, unknown] => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      return [exported.name, describeDeclaration(checker, symbol)];
    }),
  );
}

/** `get x`, `set x`, `get/set x`, `x()` or `x` for one property. */
function member(name: string, d: PropertyDescriptor): string {
  if (d.get || d.set) return `${[d.get && 'get', d.set && 'set'].filter(Boolean).join('/')} ${name}`;
  return typeof d.value === 'function' ? `${name}()` : name;
}

function members(target: object, skip: string[]): string[] {
  const keys: (string | symbol)[] = [...Object.getOwnPropertyNames(target), ...Object.getOwnPropertySymbols(target)];
  return keys
    .filter((k) => typeof k === 'symbol' || !skip.includes(k))
    .map((k) => member(String(k), Object.getOwnPropertyDescriptor(target, k)!))
    .sort();
}

/** The runtime shape of an exported class, with the own fields of `instance`. */
function classShape(cls: Function, instance: object | undefined) {
  return {
    extends: Object.getPrototypeOf(cls)?.name || null,
    static: members(cls, ['length', 'name', 'prototype']),
    prototype: members(cls.prototype, ['constructor']),
    instance: instance ? members(instance, []) : 'no instance made',
  };
}

const isClass = (v: unknown): v is Function => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

/** Every runtime export of the entry, classes with their shape, functions with their arity. */
async function runtimeApi(): Promise<Record<string, unknown>> {
  const tree = await api.openDatatree(store('nexrad.zarr'));
  const dataset = tree.get('/VCP-12/sweep_0')!.dataset;
  const variable = dataset.get('DBZH')!;
  const instances: Record<string, object> = {
    DataTree: tree,
    Dataset: dataset,
    Variable: variable,
    RustytreeError: new api.RustytreeError('ERR_INTERNAL', 'for the API snapshot'),
  };
  // `default` is the interop wrapper's, not an export of the entry.
  const exported = Object.entries(api).filter(([name]) => name !== 'default');
  const shapes = exported.map(([name, value]): [string, unknown] => {
    if (isClass(value)) return [name, classShape(value, instances[name])];
    if (typeof value === 'function') return [name, { function: value.length }];
    return [name, typeof value];
  });
  // NDArray is an interface, but the object every read resolves with is API too.
  shapes.push(['(NDArray, as Variable.read resolves)', members(await variable.read({ vcp_time: 0 }), [])]);
  return byName(shapes);
}

test('the public API matches __test__/snapshots/api.json (see the top of this file to update it)', async (t) => {
  const current = { declarations: declaredApi(), runtime: await runtimeApi() };
  if (UPDATE) writeFileSync(SNAPSHOT, `${JSON.stringify(current, null, 2)}\n`);
  const committed = JSON.parse(readFileSync(SNAPSHOT, 'utf8'));
  t.deepEqual(current, committed, 'the API changed: if on purpose, update the snapshot (see the top of api.spec.ts)');
});
