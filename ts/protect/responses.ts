import { MonoCloudHttpError, MonoCloudOPError, MonoCloudTokenError, MonoCloudValidationError } from '../errors.js';
import type { ChallengeRoute, ChallengeWriter } from '../client.js';
import { isIntrospectionNotConfigured } from '../native/failure.js';

/**
 * What an adapter sends when it refuses a request, in no framework's terms: the status, the
 * headers (a `WWW-Authenticate` challenge, when the answer carries one) and a JSON body.
 */
export interface ResponseDescription {
  status: number;
  headers: Record<string, string>;
  body: { message: string };
}

// Fresh objects every time: a user's serialization hook may mutate the body it is given.
function response(status: number, message: string, challenge?: string): ResponseDescription {
  const headers: Record<string, string> = challenge === undefined ? {} : { 'WWW-Authenticate': challenge };
  return { status, headers, body: { message } };
}

function dpopResponse(status: number, headers: Record<string, string>): ResponseDescription {
  const message = status === 400 ? 'bad request' : status === 403 ? 'forbidden' : 'unauthorized';
  return { status, headers: { ...headers }, body: { message } };
}

/** The answer when the request carries no token at all (DPoP's challenge when it is required). */
export function noTokenResponse(challenge = 'Bearer'): ResponseDescription {
  return response(401, 'unauthorized', challenge);
}

/**
 * The answer to a failed validation, decided by the error's class and `code` only (messages are
 * for logs and may change). The issuer being down is 503 so clients retry; our own
 * misconfiguration is 500; anything unrecognised is treated as a bad token. A token that is not a
 * JWT on a client that cannot introspect is a bad token too (DECISIONS 29): anyone can send one,
 * and it must not trip alerts on 5xx answers.
 */
export function mapProtectError(error: unknown, route?: ChallengeRoute, writer?: ChallengeWriter): ResponseDescription {
  if (isIntrospectionNotConfigured(error)) return invalidToken(writer);
  if (error instanceof MonoCloudTokenError) {
    if (error.code === 'insufficient_user_authentication') {
      // RFC 9470 §3: the challenge names what the route asks of the user's authentication.
      const challenge = writer?.write('insufficient_user_authentication', route) ?? 'Bearer error="insufficient_user_authentication"';
      return response(401, 'unauthorized', challenge);
    }
    // DPoP refusals carry their own answer (RFC 9449 §7.1, §9): status, challenge, nonce.
    if (error.status !== undefined && error.headers !== undefined) return dpopResponse(error.status, error.headers);
    return error.code === 'insufficient_scope' || error.code === 'insufficient_groups'
      ? response(403, 'forbidden', writer?.full ? writer.write('insufficient_scope', route) : 'Bearer error="insufficient_scope"')
      : invalidToken(writer);
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
  return invalidToken(writer);
}

function invalidToken(writer: ChallengeWriter | undefined): ResponseDescription {
  return response(401, 'unauthorized', writer?.full ? writer.write('invalid_token') : 'Bearer error="invalid_token"');
}

/** The answer when the server cannot validate at all (the client could not be built). */
export function internalErrorResponse(): ResponseDescription {
  return response(500, 'internal server error');
}
