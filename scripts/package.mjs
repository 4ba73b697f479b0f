#!/usr/bin/env node
// Stages and packs what `npm publish` would publish: one tarball per platform whose binary is present
// (`rustytree.<platform>.node` in --artifacts, default the repo root) and the root package, whose
// manifest gains `optionalDependencies` on every platform package (the napi-rs layout: npm installs only
// the one whose `os`/`cpu`/`libc` match). The release workflow and the packaging test both use it, so the
// test installs exactly what would be published.
//
//   node scripts/package.mjs --out DIR [--artifacts DIR]
//
// Prints the tarball paths as JSON: { root, platforms: { "linux-x64-gnu": path, ... } }.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, artifacts: { type: 'string' } } });
if (!values.out) throw new Error('usage: package.mjs --out DIR [--artifacts DIR]');
const out = resolve(values.out);
const artifacts = resolve(values.artifacts ?? repo);
mkdirSync(out, { recursive: true });

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const root = readJson(join(repo, 'package.json'));
const binaryName = root.napi.binaryName;

// npm pack prints the tarball name; --pack-destination keeps the stage clean.
function pack(dir) {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }));
  return join(out, info.filename);
}

const stageRoot = mkdtempSync(join(tmpdir(), 'rustytree-stage-'));
try {
  const platforms = {};
  const optionalDependencies = {};
  for (const platform of readdirSync(join(repo, 'npm')).sort()) {
    const manifest = readJson(join(repo, 'npm', platform, 'package.json'));
    // Every platform is listed, built here or not: the published root must name them all.
    optionalDependencies[manifest.name] = root.version;
    const binary = join(artifacts, `${binaryName}.${platform}.node`);
    if (!existsSync(binary)) continue;
    const stage = join(stageRoot, platform);
    cpSync(join(repo, 'npm', platform), stage, { recursive: true });
    cpSync(binary, join(stage, `${binaryName}.${platform}.node`));
    cpSync(join(repo, 'LICENSE'), join(stage, 'LICENSE'));
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...manifest, version: root.version }, null, 2)}\n`);
    platforms[platform] = pack(stage);
  }

  if (!existsSync(join(repo, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
  const stage = join(stageRoot, 'root');
  mkdirSync(stage);
  for (const entry of [...root.files, 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    const from = join(repo, entry);
    if (existsSync(from)) cpSync(from, join(stage, entry), { recursive: true });
  }
  // What consumers need; build tooling, test config and dev dependencies stay behind.
  const { devDependencies, scripts, ava, overrides, ...published } = root;
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...published, optionalDependencies }, null, 2)}\n`);
  console.log(JSON.stringify({ root: pack(stage), platforms }, null, 2));
} finally {
  rmSync(stageRoot, { recursive: true, force: true });
}
