// The crossing into Rust. The napi-generated loader (binding.cjs at the package root) picks the
// binary for this platform: a local build or the @monocloud/backend-node-rs-<platform> package.
// Nothing outside this folder imports it.
import type { ClientProfile, Failure } from '../../binding.cjs';
import { MonoCloudValidationError } from '../errors.js';
import type { MonoCloudBackendNodeClientOptions } from '../types.js';
import { callbacksFor } from './callbacks.js';
import { cachedClaims } from './claims.js';
import { toError } from './failure.js';
import { loadBinding } from './loader.js';
import { isThenable, messageOf } from './realm.js';

export { inCheckPhase, startTimer, stopTimer } from './realm.js';

const binding = loadBinding();
const { bearerToken } = binding;
export const { NativeClient } = binding;
export type NativeClient = InstanceType<typeof NativeClient>;

export { cachedClaims, isThenable, toError };

/** What every native call answers: JSON text, or a failure that stands for an error. */
export type Answer = string | Failure;

/** What the per-request function answers: at once for a token verified before, else later. */
export type Verdict = Answer | Promise<Answer>;

/** The per-request functions of one native client (src/napi/verify.rs). */
export type RequestVerifiers = ReturnType<NativeClient['requestVerifiers']>;

/**
 * One request as it crosses: exactly one of `authorization` (a header value, read for a bearer
 * token in Rust) and `token` (a token the caller found), what the route requires, and the parts
 * of the HTTP request that request-bound checks read.
 */
export interface NativeRequest {
  authorization?: string;
  token?: string;
  scopes?: string[] | undefined;
  groups?: string[] | undefined;
  clientCertificate?: string | undefined;
  method?: string | undefined;
  url?: string | undefined;
  dpop?: string | string[] | undefined;
  /** Step-up (RFC 9470): the `acr` values accepted. */
  acrValues?: string[] | undefined;
  /** Step-up (RFC 9470): seconds since `auth_time`, at most. */
  maxAge?: number | undefined;
  /** The caller's clock, `Date.now()`. */
  now?: number;
}

/**
 * Calls the client's native verifier for where the token comes from, with the request's parts in
 * its positional order. The verdict is `undefined` when the `Authorization` value holds no
 * bearer token.
 */
export function callVerifier(verifiers: RequestVerifiers, request: NativeRequest): Verdict | undefined {
  const { authorization } = request;
  if (authorization !== undefined) return callWith(verifiers.fromAuthorization, authorization, request);
  return callWith(verifiers.fromToken, request.token ?? null, request);
}

// Every argument passed costs a Node-API call in Rust, `undefined` or not: pass the parts only up
// to the last one given. Most requests stop after the clock. A method says the request is known
// (a resolver's token), so that a DPoP-bound token without its proof is refused there too.
function callWith(
  verify: RequestVerifiers[keyof RequestVerifiers],
  credential: string | null,
  request: NativeRequest,
): Verdict | undefined {
  const { now, scopes, groups, clientCertificate, dpop, acrValues, maxAge } = request;
  if (acrValues !== undefined || maxAge !== undefined) {
    return verify(credential, now, scopes, groups, clientCertificate, request.method, request.url, dpop, acrValues, maxAge);
  }
  if (dpop !== undefined || request.method !== undefined) {
    return verify(credential, now, scopes, groups, clientCertificate, request.method, request.url, dpop);
  }
  if (clientCertificate !== undefined) return verify(credential, now, scopes, groups, clientCertificate);
  if (groups !== undefined) return verify(credential, now, scopes, groups);
  if (scopes !== undefined) return verify(credential, now, scopes);
  if (now !== undefined) return verify(credential, now);
  return verify(credential);
}

/**
 * The step-up options of a call, checked: a route misconfigured this way is our user's
 * mistake, answered 500 (`MonoCloudValidationError`), never a pass.
 */
export function stepUpOf(options: { acrValues?: unknown; maxAge?: unknown } | undefined): {
  acrValues?: string[];
  maxAge?: number;
} {
  const acrValues = options?.acrValues;
  const maxAge = options?.maxAge;
  if (acrValues === undefined && maxAge === undefined) return {};
  if (acrValues !== undefined && (!Array.isArray(acrValues) || !acrValues.every((v) => typeof v === 'string' && v !== ''))) {
    throw new MonoCloudValidationError('"acrValues" must be an array of non-empty strings');
  }
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0)) {
    throw new MonoCloudValidationError('"maxAge" must be a number of seconds, 0 or more');
  }
  return { acrValues: acrValues as string[] | undefined, maxAge: maxAge as number | undefined };
}

/**
 * The value of an answer, or its failure thrown as the matching error. JSON text is parsed; a
 * verified-token cache entry's answer (`<entry>:<claims>`, which a verdict that waited can be
 * too: a DPoP proof is checked off this thread even for a token verified before) is read from
 * the parsed-claims memo.
 */
export function unwrap<T>(answer: Answer): T {
  if (typeof answer === 'string') return cachedClaims<T>(answer);
  throw toError(answer);
}

/** A verdict as the promise `validateAccessToken` returns. */
export function verdictPromise<T>(verdict: Verdict): Promise<T> {
  if (typeof verdict === 'string') return Promise.resolve(cachedClaims<T>(verdict));
  if (isThenable<Answer>(verdict)) return verdict.then(unwrap<T>) as Promise<T>;
  return Promise.reject(toError(verdict));
}

/**
 * The bearer token of an `Authorization` value, read by the same Rust function the per-request
 * path uses; `undefined` when there is none. A value that is present but not a string (a
 * framework bug or a test double) throws, so it is answered as a bad token, not as anonymous.
 */
export function getBearerToken(header: unknown): string | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  if (typeof header !== 'string') throw new TypeError('The Authorization header must be a string');
  return bearerToken(header) ?? undefined;
}

const ENV_PREFIX = 'MONOCLOUD_BACKEND_';

/** Only our variables cross into Rust; worker threads have their own `process.env`. */
export function collectEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name.startsWith(ENV_PREFIX)) env[name] = value;
  }
  return env;
}

/** Runs a synchronous native call, turning its usage errors into `MonoCloudValidationError`. */
export function usage<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new MonoCloudValidationError(messageOf(error) ?? String(error));
  }
}

/** Builds a native client, turning option problems into `MonoCloudValidationError`. */
export function createNative(
  profile: ClientProfile,
  options: Partial<MonoCloudBackendNodeClientOptions> | undefined,
  env: Record<string, string>,
): NativeClient {
  return usage(() => new NativeClient(profile, options ?? undefined, env, callbacksFor(options)));
}
