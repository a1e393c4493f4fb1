// The claim checks a route can require. Each is a rule on validated claims (`verify`, which the
// protect core runs for `protect({ checks })` in every adapter) and, as upstream has it, Express
// middleware for use after `protect()`.
import { MonoCloudTokenError } from './errors.js';
import { writeExpressResponse } from './express/respond.js';
import { mapProtectError, noTokenResponse } from './protect/responses.js';
import type { ClaimCheck, ClaimCheckResponse } from './protect/types.js';
import type { AccessTokenClaims, JwtClaims } from './types.js';

/** A claim value `claimEquals` and `claimIncludes` can compare with. */
export type ClaimValue = string | number | boolean | null;

function makeCheck<C extends JwtClaims>(rule: (claims: C) => void | Promise<void>): ClaimCheck<C> {
  const middleware = async (req: object, res: ClaimCheckResponse, next: (error?: unknown) => void): Promise<void> => {
    const claims = (req as { claims?: unknown }).claims;
    if (claims === null || typeof claims !== 'object') {
      // protect() did not run before this check: there is no authenticated token.
      writeExpressResponse(res, noTokenResponse());
      return;
    }
    try {
      await rule(claims as C);
    } catch (error) {
      writeExpressResponse(res, mapProtectError(error));
      return;
    }
    next();
  };
  return Object.assign(middleware, {
    async verify(claims: C): Promise<void> {
      await rule(claims);
    },
  });
}

/** A claim as a list: a space-separated string is split, an array is taken as it is. */
function claimList(value: unknown): unknown[] | undefined {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return Array.isArray(value) ? value : undefined;
}

function ownClaim(claims: object, name: string): unknown {
  return Object.hasOwn(claims, name) ? (claims as Record<string, unknown>)[name] : undefined;
}

function assertClaimName(name: unknown, helper: string): asserts name is string {
  if (typeof name !== 'string' || name === '') throw new TypeError(`${helper}() needs a claim name`);
}

function assertClaimValue(value: unknown, helper: string): asserts value is ClaimValue {
  if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
    throw new TypeError(`${helper}() compares with strings, numbers, booleans or null`);
  }
}

/**
 * Requires every given scope in the token's `scope` claim, which may be a space-separated string
 * or an array. Scopes are given as separate arguments, arrays or space-separated strings:
 * `requiredScopes('read:things', 'write:things')`, `requiredScopes(['read:things'])` and
 * `requiredScopes('read:things write:things')` are the same. Fails with 403 `insufficient_scope`.
 */
export function requiredScopes(...scopes: Array<string | readonly string[]>): ClaimCheck<JwtClaims> {
  const required: string[] = [];
  for (const entry of scopes.flat()) {
    if (typeof entry !== 'string') throw new TypeError('requiredScopes() takes strings or arrays of strings');
    required.push(...entry.split(/\s+/).filter(Boolean));
  }
  if (required.length === 0) throw new TypeError('requiredScopes() needs at least one scope');
  return makeCheck((claims) => {
    const granted = claimList(ownClaim(claims, 'scope'));
    if (!granted || !required.every((scope) => granted.includes(scope))) {
      throw new MonoCloudTokenError('Token is missing required scopes', 'insufficient_scope');
    }
  });
}

/**
 * Requires the claim `name` to be exactly `value` (`===`, so `'1'` is not `1`). A missing claim
 * fails. Fails with 401 `invalid_token`.
 */
export function claimEquals(name: string, value: ClaimValue): ClaimCheck<JwtClaims> {
  assertClaimName(name, 'claimEquals');
  assertClaimValue(value, 'claimEquals');
  return makeCheck((claims) => {
    if (!Object.hasOwn(claims, name) || ownClaim(claims, name) !== value) {
      throw new MonoCloudTokenError(`Unexpected '${name}' claim value`, 'invalid_token');
    }
  });
}

/**
 * Requires the claim `name` to contain every one of `values`. The claim may be an array or a
 * space-separated string (a string claim can only contain strings). Fails with 401
 * `invalid_token`, also when the claim is missing or of another type.
 */
export function claimIncludes(name: string, ...values: ClaimValue[]): ClaimCheck<JwtClaims> {
  assertClaimName(name, 'claimIncludes');
  if (values.length === 0) throw new TypeError('claimIncludes() needs at least one value');
  for (const value of values) assertClaimValue(value, 'claimIncludes');
  return makeCheck((claims) => {
    const list = claimList(ownClaim(claims, name));
    if (!list || !values.every((value) => list.includes(value))) {
      throw new MonoCloudTokenError(`Unexpected '${name}' claim value`, 'invalid_token');
    }
  });
}

/**
 * Runs `fn` on the validated claims; the token is accepted only when it returns (or resolves to)
 * exactly `true`. Otherwise 401 `invalid_token`, with `message` as the error's message. An error
 * thrown by `fn` is answered like any other: a `MonoCloudTokenError` with code
 * `insufficient_scope` gives 403, anything unrecognised 401 `invalid_token`.
 */
export function claimCheck<C extends JwtClaims = AccessTokenClaims>(
  fn: (claims: C) => boolean | Promise<boolean>,
  message = 'Token claims did not pass a claim check',
): ClaimCheck<C> {
  if (typeof fn !== 'function') throw new TypeError('claimCheck() needs a function');
  return makeCheck<C>(async (claims) => {
    if ((await fn(claims)) !== true) throw new MonoCloudTokenError(message, 'invalid_token');
  });
}
