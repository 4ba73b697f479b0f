#!/usr/bin/env node
'use strict';
// The `rustytree` command. The CLI is TypeScript (ts/cli/), compiled to dist/ by `npm run build:ts`.
try {
  // The package entry loads the native addon and, on a platform without a binary, explains which one is missing.
  require('../index.js');
} catch (error) {
  const code = (error && error.code) || 'ERR_INTERNAL';
  process.stderr.write(`rustytree: ${code}: ${String(error && error.message).replace(/^rustytree: /, '')}\n`);
  // 15: ERR_UNSUPPORTED_PLATFORM, as docs/cli.md lists it (the library's codes are 1-14).
  process.exit(code === 'ERR_UNSUPPORTED_PLATFORM' ? 15 : 1);
}
require('../dist/cli/main.js').run();
