/**
 * The napi-generated binding (`native.js` / `native.d.ts` at the package root). Only the `ts/` layer
 * imports this module.
 * @module
 */
export * from '../native';
