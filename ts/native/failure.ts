// The one place the JavaScript face maps the error taxonomy: a native `Failure` (see
// src/napi/failure.rs) becomes the matching `MonoCloud*Error`, or what a user callback threw.
import type { Failure, RawResponse } from '../../binding.cjs';
import { MonoCloudHttpError, MonoCloudOPError, MonoCloudTokenError, MonoCloudValidationError } from '../errors.js';
import type { MonoCloudRawResponse } from '../types.js';
import { thrownBy } from './callbacks.js';

// The `MonoCloudValidationError`s that mean "a token that is not a JWT, and no introspection":
// `validateAccessToken` rejects with them as the original does, `protectApi` answers 401.
const withoutIntrospection = new WeakSet<object>();

/** Whether `error` is a non-JWT token refused because introspection is not configured. */
export function isIntrospectionNotConfigured(error: unknown): boolean {
  return typeof error === 'object' && error !== null && withoutIntrospection.has(error);
}

function validationError(message: string, hint: string | undefined): MonoCloudValidationError {
  const error = new MonoCloudValidationError(message);
  if (hint === 'introspection_not_configured') withoutIntrospection.add(error);
  return error;
}

/** The error a failure stands for. */
export function toError(failure: Failure): unknown {
  switch (failure.kind) {
    case 'validation':
      return validationError(failure.message, failure.hint ?? undefined);
    case 'token':
      return tokenError(failure);
    case 'op':
      return new MonoCloudOPError(failure.error, failure.errorDescription, toRaw(failure.raw));
    case 'http':
      return new MonoCloudHttpError(
        failure.jsonText === undefined ? failure.message : notJson(failure.jsonText, failure.message),
        toRaw(failure.raw),
      );
    case 'callback':
      return thrownBy(failure.id);
    default:
      return unreachable(failure);
  }
}

function tokenError(failure: Extract<Failure, { kind: 'token' }>): MonoCloudTokenError {
  const error = new MonoCloudTokenError(failure.message, failure.code);
  const { answer } = failure;
  if (answer) {
    const headers: Record<string, string> = { 'WWW-Authenticate': answer.challenge };
    if (answer.nonce !== undefined && answer.nonce !== null) {
      headers['DPoP-Nonce'] = answer.nonce;
      headers['Cache-Control'] = 'no-store';
    }
    error.status = answer.status;
    error.headers = headers;
  }
  return error;
}

/**
 * The original words a body that is not JSON with the engine's own `JSON.parse` error; Rust's
 * parser words it differently, so the text is parsed again here. Should this engine accept what
 * Rust refused (nesting deeper than Rust allows), Rust's message stands.
 */
function notJson(text: string, rustMessage: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return `Failed to parse response body as JSON : ${error.message}`;
  }
  return rustMessage;
}

function unreachable(failure: never): never {
  throw new TypeError(`Unknown failure ${JSON.stringify(failure)}`);
}

function toRaw(raw: RawResponse | undefined): MonoCloudRawResponse | undefined {
  if (raw === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of raw.headers) if (name !== undefined && value !== undefined) headers[name] = value;
  return { status: raw.status, statusText: raw.statusText, headers, body: raw.body };
}
