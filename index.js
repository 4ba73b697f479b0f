'use strict';
// Package entry: the hand-written TypeScript layer, compiled to dist/.
module.exports = require('./dist/index.js');
