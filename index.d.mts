// Types of the ESM entry (index.mjs): the declarations of the CommonJS entry, and its exports object as
// the default export.
import * as rustytree from './dist/index.js';

export * from './dist/index.js';
export default rustytree;
