#!/usr/bin/env node
'use strict';
// The `rustytree` command. The CLI is TypeScript (ts/cli/), compiled to dist/ by `npm run build:ts`.
require('../dist/cli/main.js').run();
