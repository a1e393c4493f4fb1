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

/** A native answer that is either immediate (claims JSON or a failure) or a pending outcome. */
export function settle<T>(answer: string | Failure | Promise<Outcome>): Promise<T> {
  if (typeof answer === 'string') return Promise.resolve(JSON.parse(answer) as T);
  if (answer instanceof Promise) return answer.then((outcome) => unwrap<T>(outcome));
  return Promise.reject(toError(answer));
}

function toError(failure: Failure): unknown {
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
