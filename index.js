'use strict';
// Package entry: the hand-written TypeScript layer, compiled to dist/.
try {
  module.exports = require('./dist/index.js');
} catch (error) {
  throw explainLoadFailure(error);
}

// napi's loader says "Cannot find native binding" and blames npm; say which platform was looked for,
// which ones exist, and keep the loader's error (with every attempt) as the cause.
function explainLoadFailure(error) {
  const message = String(error && error.message);
  if (!message.startsWith('Cannot find native binding') && !message.includes('.node')) return error;
  // One diagnostic report (it is not cheap) says which C library this Node runs on.
  const glibc = process.platform === 'linux' && process.report ? process.report.getReport().header.glibcVersionRuntime : undefined;
  const libc = process.platform === 'linux' ? (glibc ? `-gnu (glibc ${glibc})` : '-musl') : '';
  const wrapped = new Error(
    `rustytree: no prebuilt native binary loads on ${process.platform}-${process.arch}${libc}. ` +
      'Prebuilt binaries exist for linux-x64-gnu and linux-arm64-gnu (glibc >= 2.17) and darwin-arm64; ' +
      `npm installs the matching one (package rustytree-${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}) ` +
      'as an optional dependency, so check that optional dependencies were not omitted (--omit=optional, --no-optional). ' +
      'Elsewhere, build from source with a Rust toolchain: npm run build. ' +
      `Attempts: ${attempts(error).join('; ')}`,
  );
  wrapped.code = 'ERR_UNSUPPORTED_PLATFORM';
  wrapped.cause = error;
  return wrapped;
}

// The loader chains one error per candidate it tried (the local file, the platform package).
function attempts(error) {
  const seen = [];
  for (let e = error && error.cause; e && seen.length < 4; e = e.cause) seen.push(String(e.message).split('\n')[0]);
  return seen.length > 0 ? seen : ['none recorded'];
}
