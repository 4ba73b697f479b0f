/**
 * The napi-generated binding, loaded once. Only the `ts/` layer imports this module.
 * @module
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding: typeof import('../native') = require('../native.js');
export = binding;
