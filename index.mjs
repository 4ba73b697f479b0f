// The ESM entry (the `import` condition of package.json's `exports`): the CommonJS entry's exports, so
// that `import` and `require` share one module instance (one RustytreeError class, one native addon).
export * from './index.js';
export { default } from './index.js';
