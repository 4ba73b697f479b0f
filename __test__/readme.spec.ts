// The documentation's examples cannot rot: every example is type-checked against the package's own types
// and run, in a fresh Node process, from the repository root against the bundled fixtures.
//
// Which blocks count:
// - README.md and docs/usage.md: a ```ts or ```js block right after a `<!-- runnable -->` line is
//   type-checked (ts) and run; after `<!-- typecheck -->` it is only type-checked (examples that need the
//   network). Unmarked blocks are fragments and are not checked.
// - ts/*.ts (the TSDoc behind `npm run docs`): every ```ts block in a doc comment is checked and run,
//   unless its first line is a `// Needs network access` comment, which makes it type-check only.
// `from 'rustytree'` becomes the repository's own entry point (index.js, which loads dist/).
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..');
const ENTRY = join(ROOT, 'index.js');
const MARKDOWN = ['README.md', 'docs/usage.md'];
const NETWORK_NOTE = /^\/\/ Needs network access/;
// Floors at (ts/: a little under) today's counts, so that losing examples or breaking markers fails here.
const MIN_RUNNABLE: Record<string, number> = { 'README.md': 3, 'docs/usage.md': 15, 'ts/': 30 };

interface Block {
  /** `file:line` of the opening fence, for test titles and messages. */
  where: string;
  /** README.md, docs/usage.md or ts/ (the TSDoc of every file there). */
  group: string;
  lang: 'ts' | 'js';
  run: boolean;
  code: string;
}

function markdownBlocks(file: string): { blocks: Block[]; problems: string[] } {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  const problems: string[] = [];
  lines.forEach((line, i) => {
    const marker = /^<!--\s*(runnable|typecheck)\s*-->\s*$/.exec(line.trim());
    if (!marker) return;
    const fence = /^```(ts|typescript|js|javascript)\s*$/.exec(lines[i + 1] ?? '');
    if (!fence) {
      problems.push(`${file}:${i + 1}: a ${marker[1]} marker must be followed directly by a \`\`\`ts or \`\`\`js fence`);
      return;
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    if (end < 0) {
      problems.push(`${file}:${i + 2}: unclosed code block`);
      return;
    }
    blocks.push({
      where: `${file}:${i + 2}`,
      group: file,
      lang: fence[1].startsWith('t') ? 'ts' : 'js',
      run: marker[1] === 'runnable',
      code: lines.slice(i + 2, end).join('\n'),
    });
  });
  return { blocks, problems };
}

function tsdocBlocks(): Block[] {
  const blocks: Block[] = [];
  const dir = join(ROOT, 'ts');
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    const lines = readFileSync(join(dir, name), 'utf8').split('\n');
    let start = -1;
    lines.forEach((line, i) => {
      const m = /^\s*\*( ?)(.*)$/.exec(line);
      if (!m) return;
      const text = m[2];
      if (start < 0 && /^```(ts|typescript)\s*$/.test(text)) start = i;
      else if (start >= 0 && text.startsWith('```')) {
        const code = lines
          .slice(start + 1, i)
          .map((l) => l.replace(/^\s*\* ?/, ''))
          // A glob like `*/` has to be written `*\/` inside a comment.
          .map((l) => l.replace(/\*\\\//g, '*/'))
          .join('\n');
        blocks.push({ where: `ts/${name}:${start + 1}`, group: 'ts/', lang: 'ts', run: !NETWORK_NOTE.test(code.trimStart()), code });
        start = -1;
      }
    });
  }
  return blocks;
}

const markdown = MARKDOWN.map(markdownBlocks);
const blocks: Block[] = [...markdown.flatMap((m) => m.blocks), ...tsdocBlocks()];
const markerProblems = markdown.flatMap((m) => m.problems);

const work = mkdtempSync(join(tmpdir(), 'rustytree-doc-examples-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function fileOf(block: Block, index: number): string {
  const code = block.code
    .replace(/(from\s+)(['"])rustytree\2/g, (_m, from: string) => `${from}${JSON.stringify(ENTRY)}`)
    .replace(/(import\s+)(['"])rustytree\2/g, (_m, imp: string) => `${imp}${JSON.stringify(ENTRY)}`);
  const path = join(work, `example-${String(index).padStart(3, '0')}.${block.lang === 'ts' ? 'mts' : 'mjs'}`);
  writeFileSync(path, `${code}\n`);
  return path;
}
const files = blocks.map(fileOf);

/** All TypeScript examples in one compiler run; diagnostics by example file. */
const typeErrors: Promise<Map<string, string[]>> = (async () => {
  const tsFiles = files.filter((f) => f.endsWith('.mts'));
  const program = ts.createProgram(tsFiles, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const byFile = new Map<string, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(program)';
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const text = `${at ? `line ${at.line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    byFile.set(file, [...(byFile.get(file) ?? []), text]);
  }
  return byFile;
})();

// Each run is a Node process with the addon loaded; a handful at a time keeps a small machine responsive.
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (running >= Math.max(2, availableParallelism())) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await task();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runExample(file: string): Promise<{ code: number | null; output: string }> {
  const args = file.endsWith('.mts') ? ['--import=tsx', file] : [file];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b));
    child.stderr.on('data', (b: Buffer) => (output += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('examples are marked correctly and there are enough of them', (t) => {
  t.deepEqual(markerProblems, []);
  for (const [group, min] of Object.entries(MIN_RUNNABLE)) {
    const runnable = blocks.filter((b) => b.group === group && b.run).length;
    t.true(runnable >= min, `${group}: ${runnable} runnable examples, expected at least ${min}`);
  }
});

blocks.forEach((block, i) => {
  test(`${block.run ? 'runs' : 'type-checks'}: ${block.where}`, async (t) => {
    const file = files[i];
    if (block.lang === 'ts') t.deepEqual((await typeErrors).get(file) ?? [], [], `type errors in ${block.where}`);
    if (!block.run) return;
    const { code, output } = await limited(() => runExample(file));
    t.is(code, 0, `${block.where} failed:\n${output}`);
  });
});

/** The public API as `ts/index.ts` exports it, with the doc comment of every callable part. */
function publicDocs(): { name: string; where: string; tags: string[] }[] {
  const program = ts.createProgram([join(ROOT, 'ts', 'index.ts')], { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(join(ROOT, 'ts', 'index.ts'))!;
  const out: { name: string; where: string; tags: string[] }[] = [];
  const record = (name: string, node: ts.Node) => {
    const where = `${relative(ROOT, node.getSourceFile().fileName)}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    out.push({ name, where, tags: ts.getJSDocTags(node).map((tag) => tag.tagName.text) });
  };
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    for (const decl of symbol.declarations ?? []) {
      if (ts.isFunctionDeclaration(decl) || ts.isVariableDeclaration(decl)) record(exported.name, decl);
      if (!ts.isClassDeclaration(decl)) continue;
      record(exported.name, decl);
      for (const member of decl.members) {
        const callable = ts.isMethodDeclaration(member) || ts.isGetAccessorDeclaration(member);
        const hidden =
          ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Private ||
          ts.getJSDocTags(member).some((tag) => tag.tagName.text === 'internal');
        if (callable && !hidden) record(`${exported.name}.${member.name.getText()}`, member);
      }
    }
  }
  return out;
}

test('every public function, class, method and getter has an @example', (t) => {
  const docs = publicDocs();
  // The entry points must be among them, or the walk above found nothing to check.
  for (const name of ['openDatatree', 'openDataset', 'readChunk', 'DataTree', 'DataTree.get', 'Variable.read', 'toDates']) {
    t.true(
      docs.some((d) => d.name === name),
      `${name} is not in the public API walk`,
    );
  }
  t.deepEqual(
    docs.filter((d) => !d.tags.includes('example')).map((d) => `${d.name} (${d.where})`),
    [],
  );
});
