// The generated loader picks the binary for this platform (a local build or the
// @monocloud/backend-node-rs-<platform> package).
import { NativeClient, type Failure, type Outcome } from '../index.js';

import { callbacksFor, thrownBy } from './callbacks.js';
import {
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from './errors.js';
import type { MonoCloudBackendNodeClientOptions, MonoCloudRawResponse, MonoCloudTokenErrorCode } from './types.js';

export { NativeClient };

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
    throw new MonoCloudValidationError(error instanceof Error ? error.message : String(error));
  }
}

/** Builds a native client, turning option problems into `MonoCloudValidationError`. */
export function createNative(
  profile: 'node' | 'oidc',
  options: Partial<MonoCloudBackendNodeClientOptions> | undefined,
  env: Record<string, string>,
): NativeClient {
  try {
    return new NativeClient(profile, options ?? undefined, env, callbacksFor(options));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new MonoCloudValidationError(message);
  }
}

/** The result of a native call, or its failure thrown as the matching error class. */
export function unwrap<T>(outcome: Outcome): T {
  if (outcome.failure) throw toError(outcome.failure);
  return JSON.parse(outcome.json as string) as T;
}

/** What the native `validate` function answers: claims JSON text, a failure, or a promise of either. */
export type NativeAnswer = string | Failure | Promise<string | Failure>;

/** A native answer as the promise `validateAccessToken` returns. */
export function settle<T>(answer: NativeAnswer): Promise<T> {
  if (typeof answer === 'string') return Promise.resolve(cachedClaims<T>(answer));
  if (answer instanceof Promise) return answer.then(settled) as Promise<T>;
  return Promise.reject(toError(answer));
}

/** A settled native answer: the claims, or the failure thrown as its error class. */
export function settled<T>(answer: string | Failure): T {
  if (typeof answer === 'string') return JSON.parse(answer) as T;
  throw toError(answer);
}

// Claims answered from the native cache (a token seen before) are parsed once per distinct
// claims text and handed out as deep copies: every caller still gets an object of its own, as
// from JSON.parse, at a fraction of the cost. Bounded in entries and size; the oldest goes first.
const MEMO_ENTRIES = 1000;
const MEMO_TEXT_LIMIT = 4096;
interface ParsedClaims {
  value: Record<string, unknown>;
  /** Keys whose values are objects or arrays, which a copy must copy too. */
  nested: string[];
}
const parsedClaims = new Map<string, ParsedClaims>();

/** The claims of a cache hit, from the memo when this text was seen before. */
export function cachedClaims<T>(text: string): T {
  let parsed = parsedClaims.get(text);
  if (parsed === undefined) {
    const value: unknown = JSON.parse(text);
    if (text.length > MEMO_TEXT_LIMIT || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return value as T;
    }
    const record = value as Record<string, unknown>;
    parsed = { value: record, nested: Object.keys(record).filter((key) => isContainer(record[key])) };
    if (parsedClaims.size >= MEMO_ENTRIES) parsedClaims.delete(parsedClaims.keys().next().value as string);
    parsedClaims.set(text, parsed);
  }
  const copy = { ...parsed.value };
  for (const key of parsed.nested) copy[key] = deepCopy(parsed.value[key]);
  return copy as T;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

// Spread keeps a "__proto__" claim an own data property (as JSON.parse makes it), so the
// assignments below update that property rather than the prototype.
function deepCopy(value: unknown): unknown {
  if (!isContainer(value)) return value;
  if (Array.isArray(value)) return value.map(deepCopy);
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of Object.keys(copy)) if (isContainer(copy[key])) copy[key] = deepCopy(copy[key]);
  return copy;
}

/** The error a failure record stands for. */
export function toError(failure: Failure): unknown {
  const raw = failure.raw ? toRaw(failure.raw) : undefined;
  switch (failure.kind) {
    case 'token':
      return new MonoCloudTokenError(failure.message, failure.code as MonoCloudTokenErrorCode, raw);
    case 'op':
      return new MonoCloudOPError(failure.error ?? failure.message, failure.errorDescription ?? undefined, raw);
    case 'http':
      return new MonoCloudHttpError(failure.message, raw);
    case 'callback':
      return thrownBy(failure.message);
    default:
      return new MonoCloudValidationError(failure.message, raw);
  }
}

function toRaw(raw: NonNullable<Failure['raw']>): MonoCloudRawResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of raw.headers) if (name !== undefined && value !== undefined) headers[name] = value;
  return { status: raw.status, statusText: raw.statusText, headers, body: raw.body };
}
