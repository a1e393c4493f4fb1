// The claims of a cache hit come from a memo of parsed claims texts. Whatever the memo does
// (admits every text, or only a sample of them while the traffic has more distinct tokens
// than it holds), every caller must get an object of its own, equal to JSON.parse's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { fromRoot } from '../support/paths.mjs';

const { cachedClaims } = await import(pathToFileURL(fromRoot('dist', 'native', 'claims.js')).href);

const claimsText = (i) =>
  JSON.stringify({ sub: `user-${i}`, exp: 2_000_000_000 + i, groups: ['a', { nested: [i] }], ['__proto__']: { admin: i } });

function takeAndSpoil(text) {
  const claims = cachedClaims(text);
  assert.deepEqual(claims, JSON.parse(text));
  claims.sub = 'spoiled';
  claims.groups.push('spoiled');
  claims.groups[1].nested.push('spoiled');
  claims.__proto__.admin = 'spoiled';
  return claims;
}

test('a hot claims text: every hit is a fresh deep copy', () => {
  const text = claimsText(0);
  const seen = new Set();
  for (let i = 0; i < 50; i++) seen.add(takeAndSpoil(text));
  assert.equal(seen.size, 50);
  assert.equal(Object.getPrototypeOf(cachedClaims(text)), Object.prototype, 'a __proto__ claim stays a plain member');
});

test('more distinct texts than the memo holds, then a hot set again: still fresh, equal copies', () => {
  // 20,000 distinct texts, each seen twice in a row: the memo turns to sampling its admissions.
  for (let i = 1; i <= 20_000; i++) {
    const text = claimsText(i);
    takeAndSpoil(text);
    takeAndSpoil(text);
  }
  // A small hot set afterwards: sampled ones are admitted and served as copies, the rest parsed.
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 100; i++) takeAndSpoil(claimsText(30_000 + i));
  }
  for (let i = 0; i < 100; i++) assert.deepEqual(cachedClaims(claimsText(30_000 + i)), JSON.parse(claimsText(30_000 + i)));
});

test('texts that are not plain objects or are long are parsed as they are', () => {
  assert.deepEqual(cachedClaims('[1,2]'), [1, 2]);
  assert.equal(cachedClaims('null'), null);
  const long = JSON.stringify({ sub: 'x', filler: 'y'.repeat(5000) });
  const first = cachedClaims(long);
  first.sub = 'spoiled';
  assert.equal(cachedClaims(long).sub, 'x');
});
