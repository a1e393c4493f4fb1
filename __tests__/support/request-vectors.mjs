// The one table of requests every adapter must answer alike: the routes a test app serves (each
// with its protect options) and, per vector, the request and the answer expected from it.
import { claimEquals } from '@monocloud/backend-node-rs/express';

import { now } from './clock.mjs';
import { NO_TOKEN_CHALLENGE } from './challenges.mjs';

/** Path → route options; every adapter's test app serves these, answering 200 `{ claims }`. */
export const routes = {
  '/plain': undefined,
  '/scoped': { scopes: ['admin'] },
  '/grouped': { groups: ['engineering'] },
  '/checked': { checks: [claimEquals('tier', 'gold')] },
  '/optional': { optional: true },
  '/optional-scoped': { optional: true, scopes: ['admin'] },
  '/optional-checked': { optional: true, checks: [claimEquals('tier', 'gold')] },
};

const UNAUTHORIZED = '{"message":"unauthorized"}';
const FORBIDDEN = '{"message":"forbidden"}';
const noToken = { status: 401, challenge: NO_TOKEN_CHALLENGE, body: UNAUTHORIZED };
const invalid = { status: 401, challenge: 'Bearer error="invalid_token"', body: UNAUTHORIZED };
const forbidden = { status: 403, challenge: 'Bearer error="insufficient_scope"', body: FORBIDDEN };
const unavailable = { status: 503, challenge: undefined, body: '{"message":"service unavailable"}' };
const passes = (sub) => ({ status: 200, challenge: undefined, sub });
const anonymous = { status: 200, challenge: undefined, body: '{}' };

/** Mints every token the vectors use, once, so that every adapter is sent the same bytes. */
export async function mintTokens(issuer) {
  const valid = await issuer.mint();
  const [head, payload] = valid.split('.');
  return {
    valid,
    expired: await issuer.mint({ claims: { exp: now() - 3600, iat: now() - 7200 } }),
    wrongAudience: await issuer.mint({ claims: { aud: 'https://other.example.com' } }),
    admin: await issuer.mint({ claims: { scope: 'read admin' } }),
    engineer: await issuer.mint({ claims: { groups: ['engineering'] } }),
    sales: await issuer.mint({ claims: { groups: ['sales'] } }),
    gold: await issuer.mint({ claims: { tier: 'gold' } }),
    badSignature: `${head}.${payload}.${'A'.repeat(86)}`,
    opaque: issuer.mintOpaque({ sub: 'opaque-user' }),
    opaqueAdmin: issuer.mintOpaque({ sub: 'opaque-user', scope: 'read admin' }),
    opaqueRevoked: revoked(issuer, issuer.mintOpaque({ sub: 'revoked-user' })),
  };
}

function revoked(issuer, token) {
  issuer.revoke(token);
  return token;
}

/**
 * Each vector: a name, the path, the headers (an array sends the header once per element), and
 * the expected status, `WWW-Authenticate` and body text (or the `sub` of the claims answered).
 * `issuer: 'down'` vectors go to an app whose client points at a closed port; `issuer:
 * 'introspect'` ones to an app whose client has the issuer's client credentials, so that opaque
 * tokens are introspected.
 */
export const vectors = [
  { name: 'no Authorization header', path: '/plain', headers: () => ({}), expect: noToken },
  { name: 'empty Authorization header', path: '/plain', headers: () => ({ authorization: '' }), expect: noToken },
  { name: 'another scheme (Basic)', path: '/plain', headers: () => ({ authorization: 'Basic dXNlcjpwYXNz' }), expect: noToken },
  { name: 'Bearer with no token', path: '/plain', headers: () => ({ authorization: 'Bearer ' }), expect: noToken },
  { name: 'malformed token', path: '/plain', headers: () => ({ authorization: 'Bearer not-a-jwt.at.all' }), expect: invalid },
  {
    name: 'duplicated Authorization header, the first one bad',
    path: '/plain',
    headers: (t) => ({ authorization: ['Bearer not-a-jwt.at.all', `Bearer ${t.valid}`] }),
    expect: invalid,
  },
  { name: 'valid token', path: '/plain', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: passes('test-user') },
  { name: 'valid token, lower-case scheme', path: '/plain', headers: (t) => ({ authorization: `bearer ${t.valid}` }), expect: passes('test-user') },
  { name: 'bad signature', path: '/plain', headers: (t) => ({ authorization: `Bearer ${t.badSignature}` }), expect: invalid },
  { name: 'expired token', path: '/plain', headers: (t) => ({ authorization: `Bearer ${t.expired}` }), expect: invalid },
  { name: 'wrong audience', path: '/plain', headers: (t) => ({ authorization: `Bearer ${t.wrongAudience}` }), expect: invalid },
  { name: 'missing scope', path: '/scoped', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: forbidden },
  { name: 'required scope', path: '/scoped', headers: (t) => ({ authorization: `Bearer ${t.admin}` }), expect: passes('test-user') },
  { name: 'wrong group', path: '/grouped', headers: (t) => ({ authorization: `Bearer ${t.sales}` }), expect: forbidden },
  { name: 'required group', path: '/grouped', headers: (t) => ({ authorization: `Bearer ${t.engineer}` }), expect: passes('test-user') },
  { name: 'claim check fails', path: '/checked', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: invalid },
  { name: 'claim check holds', path: '/checked', headers: (t) => ({ authorization: `Bearer ${t.gold}` }), expect: passes('test-user') },
  { name: 'issuer down', path: '/plain', issuer: 'down', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: unavailable },
  { name: 'issuer down, no token', path: '/plain', issuer: 'down', headers: () => ({}), expect: noToken },
  { name: 'optional route, no token', path: '/optional', headers: () => ({}), expect: anonymous },
  { name: 'optional route, another scheme', path: '/optional', headers: () => ({ authorization: 'Basic dXNlcjpwYXNz' }), expect: anonymous },
  { name: 'optional route, invalid token', path: '/optional', headers: () => ({ authorization: 'Bearer not-a-jwt.at.all' }), expect: invalid },
  { name: 'optional route, expired token', path: '/optional', headers: (t) => ({ authorization: `Bearer ${t.expired}` }), expect: invalid },
  { name: 'optional route, valid token', path: '/optional', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: passes('test-user') },
  { name: 'optional scoped route, no token', path: '/optional-scoped', headers: () => ({}), expect: anonymous },
  { name: 'optional scoped route, missing scope', path: '/optional-scoped', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: forbidden },
  { name: 'optional checked route, no token', path: '/optional-checked', headers: () => ({}), expect: anonymous },
  { name: 'optional checked route, check fails', path: '/optional-checked', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: invalid },
  { name: 'optional checked route, valid', path: '/optional-checked', headers: (t) => ({ authorization: `Bearer ${t.gold}` }), expect: passes('test-user') },
  { name: 'optional route, issuer down', path: '/optional', issuer: 'down', headers: (t) => ({ authorization: `Bearer ${t.valid}` }), expect: unavailable },
  { name: 'optional route, issuer down, no token', path: '/optional', issuer: 'down', headers: () => ({}), expect: anonymous },
  { name: 'opaque token, active', path: '/plain', issuer: 'introspect', headers: (t) => ({ authorization: `Bearer ${t.opaque}` }), expect: passes('opaque-user') },
  { name: 'opaque token, not active (revoked)', path: '/plain', issuer: 'introspect', headers: (t) => ({ authorization: `Bearer ${t.opaqueRevoked}` }), expect: invalid },
  { name: 'opaque token, missing scope', path: '/scoped', issuer: 'introspect', headers: (t) => ({ authorization: `Bearer ${t.opaque}` }), expect: forbidden },
  { name: 'opaque token, required scope', path: '/scoped', issuer: 'introspect', headers: (t) => ({ authorization: `Bearer ${t.opaqueAdmin}` }), expect: passes('opaque-user') },
  { name: 'opaque token on a JWT-only app', path: '/plain', headers: (t) => ({ authorization: `Bearer ${t.opaque}` }), expect: invalid },
];
