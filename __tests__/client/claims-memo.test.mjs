// The claims of a cache hit come as `<entry>:<claims JSON>` and are memoised by entry. Whatever
// the memo does (admits every entry, or only a sample while the traffic has more distinct tokens
// than it holds), every caller must get an object of its own, equal to JSON.parse's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { fromRoot } from '../support/paths.mjs';

const { cachedClaims } = await import(pathToFileURL(fromRoot('dist', 'native', 'claims.js')).href);

const claimsText = (i) =>
  JSON.stringify({ sub: `user-${i}`, exp: 2_000_000_000 + i, groups: ['a', { nested: [i] }], ['__proto__']: { admin: i } });
const answerOf = (i) => `${i}:${claimsText(i)}`;

function takeAndSpoil(i) {
  const claims = cachedClaims(answerOf(i));
  assert.deepEqual(claims, JSON.parse(claimsText(i)));
  claims.sub = 'spoiled';
  claims.groups.push('spoiled');
  claims.groups[1].nested.push('spoiled');
  claims.__proto__.admin = 'spoiled';
  return claims;
}

test('a hot entry: every hit is a fresh deep copy', () => {
  const seen = new Set();
  for (let n = 0; n < 50; n++) seen.add(takeAndSpoil(1));
  assert.equal(seen.size, 50);
  assert.equal(Object.getPrototypeOf(cachedClaims(answerOf(1))), Object.prototype, 'a __proto__ claim stays a plain member');
});

test('more distinct entries than the memo holds, then a hot set again: still fresh, equal copies', () => {
  // 20,000 distinct entries, each seen twice in a row: the memo turns to sampling its admissions.
  for (let i = 2; i <= 20_001; i++) {
    takeAndSpoil(i);
    takeAndSpoil(i);
  }
  // A small hot set afterwards: sampled ones are admitted and served as copies, the rest parsed.
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 100; i++) takeAndSpoil(30_000 + i);
  }
  for (let i = 0; i < 100; i++) assert.deepEqual(cachedClaims(answerOf(30_000 + i)), JSON.parse(claimsText(30_000 + i)));
});

test('entries are told apart by number, up to the largest exact integer', () => {
  const big = Number.MAX_SAFE_INTEGER;
  assert.equal(cachedClaims(`${big}:{"sub":"big"}`).sub, 'big');
  assert.equal(cachedClaims(`${big - 1}:{"sub":"other"}`).sub, 'other');
  assert.equal(cachedClaims(`${big}:{"sub":"big"}`).sub, 'big');
});

test('plain JSON (a validation that just ran), long texts and answers of another shape are parsed as they are', () => {
  assert.deepEqual(cachedClaims('{"sub":"fresh"}'), { sub: 'fresh' });
  const long = `7:${JSON.stringify({ sub: 'x', filler: 'y'.repeat(5000) })}`;
  const first = cachedClaims(long);
  first.sub = 'spoiled';
  assert.equal(cachedClaims(long).sub, 'x');
  assert.equal(cachedClaims('123'), 123);
  assert.throws(() => cachedClaims('12x:{}'), SyntaxError);
});
