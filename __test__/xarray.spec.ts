// Every fixture store, opened by rustytree, must match what xarray decodes from it: structure, dims,
// dtypes, attrs and every value.
import test from 'ava';
import { FIXTURE_CASES as cases } from './helpers/cases';
import { checkAgainstXarray } from './helpers/compare';
import { store } from './helpers/expected';

for (const [expectedName, storeName, options] of cases) {
  test(`${expectedName}: rustytree decodes ${storeName} as xarray does`, (t) =>
    checkAgainstXarray(t, expectedName, store(storeName), options));
}
