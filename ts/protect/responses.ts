import { MonoCloudHttpError, MonoCloudOPError, MonoCloudTokenError, MonoCloudValidationError } from '../errors.js';
import type { ClaimCheckResponse } from './types.js';

/** What an adapter sends when it refuses a request. */
export interface ProtectResponse {
  status: number;
  body: { message: string };
  /** The `WWW-Authenticate` value, when the answer carries a challenge. */
  challenge?: string;
}

// Fresh objects every time: a user's serialization hook may mutate the body it is given.
function response(status: number, message: string, challenge?: string): ProtectResponse {
  return challenge === undefined ? { status, body: { message } } : { status, body: { message }, challenge };
}

/** The answer when the request carries no token at all. */
export function noTokenResponse(): ProtectResponse {
  return response(401, 'unauthorized', 'Bearer');
}

/**
 * The answer to a failed validation, decided by the error's class and `code` only (messages are
 * for logs and may change). The issuer being down is 503 so clients retry; our own
 * misconfiguration is 500; anything unrecognised is treated as a bad token.
 */
export function mapProtectError(error: unknown): ProtectResponse {
  if (error instanceof MonoCloudTokenError) {
    return error.code === 'insufficient_scope' || error.code === 'insufficient_groups'
      ? response(403, 'forbidden', 'Bearer error="insufficient_scope"')
      : response(401, 'unauthorized', 'Bearer error="invalid_token"');
  }
  if (error instanceof MonoCloudHttpError) {
    const { status } = error;
    return status === undefined || status >= 500 || status === 429
      ? response(503, 'service unavailable')
      : response(500, 'internal server error');
  }
  if (error instanceof MonoCloudOPError || error instanceof MonoCloudValidationError) {
    return response(500, 'internal server error');
  }
  return response(401, 'unauthorized', 'Bearer error="invalid_token"');
}

/**
 * Answers through Express's response API. Once something else has answered there is nothing
 * left to say, and throwing would hand Express 5 an error for `next(err)`.
 */
export function sendExpress(res: ClaimCheckResponse, response: ProtectResponse): void {
  if (res.headersSent) return;
  if (response.challenge !== undefined) res.set('WWW-Authenticate', response.challenge);
  res.status(response.status).json(response.body);
}
