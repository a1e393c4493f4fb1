// One way to say "this call fails with class X": every test that expects a failure checks the
// same things (it failed; the class, by identity and by name; a message worth reading), then
// what it cares about. Five files used to carry their own, each checking a different subset.
import assert from 'node:assert/strict';

import { MonoCloudAuthBaseError } from '@monocloud/backend-node-rs';

/** `error[path]`, where a dotted path reaches into nested fields ('raw.status'). */
const field = (error, path) => path.split('.').reduce((value, name) => value?.[name], error);

/**
 * Awaits `promise`, which must reject with an instance of `Class`, and returns the error.
 * `expected` is a function called with the error, or an object of fields (dotted paths allowed),
 * each compared by deep equality; a RegExp matches the field's text, and for `message` an array
 * lists the messages allowed.
 */
export async function rejectsWith(promise, Class, expected = {}) {
  let error;
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (e) {
    error = e;
  }
  assert.ok(!settled, `expected a ${Class.name}, but the call succeeded`);
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error?.constructor?.name}: ${error?.message}`);
  if (Class === MonoCloudAuthBaseError || Class.prototype instanceof MonoCloudAuthBaseError) {
    assert.ok(error instanceof MonoCloudAuthBaseError, 'every MonoCloud error extends MonoCloudAuthBaseError');
    assert.equal(error.name, Class.name);
  }
  assert.equal(typeof error.message, 'string');
  assert.notEqual(error.message.trim(), '', 'the error message must not be empty');
  if (typeof expected === 'function') {
    expected(error);
    return error;
  }
  for (const [path, want] of Object.entries(expected)) {
    const got = field(error, path);
    if (want instanceof RegExp) assert.match(String(got), want, path);
    else if (path === 'message' && Array.isArray(want)) assert.ok(want.includes(got), `unexpected message: ${got}`);
    else assert.deepEqual(got, want, `${path} (message: ${error.message})`);
  }
  return error;
}
