// ./utils and ./internal: the helpers upstream exports there, with upstream's semantics.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import * as internal from '@monocloud/backend-node-rs/internal';
import { isUserInGroup, mergeArrays } from '@monocloud/backend-node-rs/utils';

const require = createRequire(import.meta.url);

describe('utils', () => {
  test('isUserInGroup: strings, objects by id or name, any or all', () => {
    const user = { groups: ['a', { id: 'g1', name: 'Admins' }, null, 7] };
    assert.equal(isUserInGroup(user, []), true);
    assert.equal(isUserInGroup(user, ['a']), true);
    assert.equal(isUserInGroup(user, ['g1']), true);
    assert.equal(isUserInGroup(user, ['Admins']), true);
    assert.equal(isUserInGroup(user, ['nope', 'a']), true);
    assert.equal(isUserInGroup(user, ['nope', 'a'], 'groups', true), false);
    assert.equal(isUserInGroup(user, ['a', 'Admins'], 'groups', true), true);
    assert.equal(isUserInGroup(user, ['7']), false);
    assert.equal(isUserInGroup(user, ['a'], 'roles'), false);
    assert.equal(isUserInGroup({ roles: ['a'] }, ['a'], 'roles'), true);
    assert.equal(isUserInGroup({ groups: 'a' }, ['a']), false, 'a string claim never matches');
    assert.equal(isUserInGroup({ groups: [] }, ['a']), false);
  });

  test('mergeArrays: a deduplicated union, or undefined', () => {
    assert.deepEqual(mergeArrays(['a', 'b'], undefined, ['b', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(mergeArrays([], undefined), []);
    assert.equal(mergeArrays(undefined, undefined), undefined);
  });

  test('CommonJS sees the same functions', () => {
    assert.equal(require('@monocloud/backend-node-rs/utils').isUserInGroup, isUserInGroup);
    assert.equal(require('@monocloud/backend-node-rs/internal').now, internal.now);
  });
});

describe('internal', () => {
  test('now is whole seconds', () => {
    const before = Math.floor(Date.now() / 1000);
    const value = internal.now();
    assert.ok(Number.isInteger(value) && value >= before && value <= before + 1);
  });

  test('getBoolean', () => {
    for (const [input, expected] of [
      ['true', true],
      [' TRUE ', true],
      ['False', false],
      ['1', undefined],
      ['yes', undefined],
      ['', undefined],
      [undefined, undefined],
    ]) {
      assert.equal(internal.getBoolean(input), expected, JSON.stringify(input));
    }
  });

  test('getNumber is parseInt of the trimmed value', () => {
    for (const [input, expected] of [
      ['10s', 10],
      ['1.9', 1],
      ['1e3', 1],
      ['0x10', 0],
      [' 7 ', 7],
      ['-5', -5],
      ['abc', undefined],
      ['', undefined],
      ['   ', undefined],
      [undefined, undefined],
    ]) {
      assert.equal(internal.getNumber(input), expected, JSON.stringify(input));
    }
  });

  test('parseClientSecret turns a JWK string into an object and leaves the rest', () => {
    assert.deepEqual(internal.parseClientSecret('{"kty":"RSA","n":"x"}'), { kty: 'RSA', n: 'x' });
    assert.equal(internal.parseClientSecret('{"kty":1}'), '{"kty":1}');
    assert.equal(internal.parseClientSecret('[{"kty":"RSA"}]'), '[{"kty":"RSA"}]');
    assert.equal(internal.parseClientSecret('plain'), 'plain');
    const jwk = { kty: 'EC' };
    assert.equal(internal.parseClientSecret(jwk), jwk);
    assert.equal(internal.parseClientSecret(undefined), undefined);
  });

  test('isPresent and isJsonObject', () => {
    assert.equal(internal.isPresent(false), true);
    assert.equal(internal.isPresent(0), true);
    assert.equal(internal.isPresent(' x '), true);
    assert.equal(internal.isPresent('  '), false);
    assert.equal(internal.isPresent(undefined), false);
    assert.equal(internal.isJsonObject({}), true);
    assert.equal(internal.isJsonObject([]), false);
    assert.equal(internal.isJsonObject(null), false);
  });

  test('base64url helpers', () => {
    assert.equal(internal.toB64Url('a+b/c=='), 'a-b_c');
    assert.equal(internal.fromB64Url('a-b_c'), 'a+b/c===');
    assert.equal(internal.fromB64Url('abcd'), 'abcd');
    assert.equal(internal.decodeBase64Url(Buffer.from('héllo').toString('base64url')), Buffer.from('héllo').toString('latin1'));
    const bytes = new Uint8Array([251, 255, 0, 1]);
    assert.equal(internal.encodeBase64Url(bytes), '-_8AAQ');
    assert.equal(internal.encodeBase64Url(bytes.buffer), '-_8AAQ');
    assert.equal(internal.arrayBufferToBase64(bytes), '-_8AAQ');
    assert.deepEqual(internal.stringToArrayBuffer('é'), new Uint8Array([0xc3, 0xa9]));
    assert.equal(internal.arrayBufferToString(new Uint8Array([0xc3, 0xa9])), 'é');
  });

  test('hashing, randomness, comparison', async () => {
    assert.equal(await internal.sha256('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    assert.match(internal.randomBytes(), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(internal.randomBytes(3).length, 4);
    assert.equal(internal.timingSafeEqual('abc', 'abc'), true);
    assert.equal(internal.timingSafeEqual('abc', 'abd'), false);
    assert.equal(internal.timingSafeEqual('abc', 'abcd'), false);
  });

  test('space-separated lists and sets', () => {
    assert.deepEqual(internal.parseSpaceSeparated(' a  b\tc '), ['a', 'b', 'c']);
    assert.equal(internal.parseSpaceSeparated(undefined), undefined);
    assert.deepEqual([...internal.parseSpaceSeparatedSet('a b a')], ['a', 'b']);
    assert.equal(internal.parseSpaceSeparatedSet('').size, 0);
    assert.equal(internal.setsEqual(new Set(['a', 'b']), new Set(['b', 'a'])), true);
    assert.equal(internal.setsEqual(new Set(['a']), new Set(['a', 'b'])), false);
    assert.equal(internal.setsEqual(new Set(['a']), new Set(['a', 'b']), false), true);
  });

  test('URL helpers', () => {
    assert.equal(internal.ensureLeadingSlash(' api '), '/api');
    assert.equal(internal.ensureLeadingSlash('/api'), '/api');
    assert.equal(internal.ensureLeadingSlash(''), '');
    assert.equal(internal.removeTrailingSlash('https://x/ '), 'https://x');
    assert.equal(internal.removeTrailingSlash('https://x'), 'https://x');
    assert.equal(internal.isAbsoluteUrl('https://x'), true);
    assert.equal(internal.isAbsoluteUrl('/x'), false);
    assert.equal(internal.isSameHost('https://a.com/x', 'https://a.com:443/y'), true);
    assert.equal(internal.isSameHost('https://a.com', 'http://a.com'), false);
    assert.equal(internal.isSameHost('not a url', 'https://a.com'), false);
  });
});
