// The one place the JavaScript face maps the error taxonomy: a native `Failure` (see
// src/napi/failure.rs) becomes the matching `MonoCloud*Error`, or what a user callback threw.
import type { Failure, RawResponse } from '../../binding.cjs';
import { MonoCloudHttpError, MonoCloudOPError, MonoCloudTokenError, MonoCloudValidationError } from '../errors.js';
import type { MonoCloudRawResponse } from '../types.js';
import { thrownBy } from './callbacks.js';

/** The error a failure stands for. */
export function toError(failure: Failure): unknown {
  switch (failure.kind) {
    case 'validation':
      return new MonoCloudValidationError(failure.message);
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
