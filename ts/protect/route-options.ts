// A route's options are checked where the route is defined. A typo there (`scope`, `Scopes`,
// `group`) would otherwise leave the route open to any valid token, and a wrong type would only
// show on the first request, as the binding's conversion text.
import { checkStringList, kindOf } from '../options/arguments.js';
import { closestName } from '../options/names.js';

const SHAPE =
  '{ scopes?: string[], groups?: string[], checks?: ClaimCheck[], optional?: boolean, acrValues?: string[], maxAge?: number }';
const ROUTE_OPTION_NAMES = ['scopes', 'groups', 'checks', 'optional', 'acrValues', 'maxAge'];

// Options objects already found good: per-request adapters (web, node:http) check the same
// object on every call, and a WeakSet lookup is all that costs.
const good = new WeakSet<object>();

function isClaimCheck(value: unknown): boolean {
  return typeof value === 'function' && typeof (value as { verify?: unknown }).verify === 'function';
}

/**
 * Throws a `TypeError` naming the option and the accepted shape when `options` is not a route's
 * options: an unknown key (with the closest known one), or a member of the wrong type.
 * `where` is how the user wrote the call, e.g. `protect(options)`.
 */
export function checkRouteOptions(options: unknown, where: string): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object ${SHAPE}, got ${kindOf(options)}`);
  }
  if (good.has(options)) return;
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (ROUTE_OPTION_NAMES.includes(key)) continue;
    throw new TypeError(
      `${where}: unknown option "${key}" (did you mean "${closestName(key, ROUTE_OPTION_NAMES)}"?); ` +
        `route options are ${SHAPE}`,
    );
  }
  checkStringList(given.scopes, `${where}: option "scopes"`);
  checkStringList(given.groups, `${where}: option "groups"`);
  checkStringList(given.acrValues, `${where}: option "acrValues"`);
  const { maxAge } = given;
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0)) {
    throw new TypeError(`${where}: option "maxAge" must be a number of seconds, 0 or more, got ${kindOf(maxAge)}`);
  }
  const { checks, optional } = given;
  if (checks !== undefined && checks !== null && !(Array.isArray(checks) && checks.every(isClaimCheck))) {
    const got = Array.isArray(checks) ? 'an array with an item that is not a claim check' : kindOf(checks);
    throw new TypeError(
      `${where}: option "checks" must be ClaimCheck[] (made by requiredScopes, claimEquals, ` +
        `claimIncludes or claimCheck), got ${got}`,
    );
  }
  if (optional !== undefined && typeof optional !== 'boolean') {
    throw new TypeError(`${where}: option "optional" must be a boolean, got ${kindOf(optional)}`);
  }
  good.add(options);
}
