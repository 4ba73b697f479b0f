import test from 'ava';
import { nativeVersion } from '../index';
import pkg from '../package.json';

test('the native addon loads and reports the package version', (t) => {
  t.is(nativeVersion(), pkg.version);
});
