// The error classes of express-oauth2-jwt-bearer, with the same names, fields and
// `WWW-Authenticate` values, so that error handlers written for that library (`instanceof`,
// `err.status`, `err.code`, `err.headers`) work unchanged.

/** A `Bearer` challenge naming the error, as RFC 6750 §3 writes it, inside the `api` realm. */
export function bearerChallenge(error: string, description: string, scopes?: readonly string[]): string {
  const scope = scopes ? `, scope="${scopes.join(' ')}"` : '';
  return `Bearer realm="api", error="${error}", error_description="${description.replace(/"/g, "'")}"${scope}`;
}

/** No token, or a request that must not be answered with details: 401 and a bare challenge. */
export class UnauthorizedError extends Error {
  status = 401;
  statusCode = 401;
  /** The error code for the challenge; absent on a plain 401. */
  declare code?: string;
  headers: Record<string, string> = { 'WWW-Authenticate': 'Bearer realm="api"' };

  constructor(message = 'Unauthorized') {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A malformed request (400). With `useErrorCode` false, the answer names no error (`code` is
 * `''` and the challenge stays bare), as RFC 6750 §3.1 advises for requests without credentials.
 */
export class InvalidRequestError extends UnauthorizedError {
  override code = 'invalid_request';

  constructor(message = 'Invalid Request', useErrorCode = true) {
    super(message);
    this.status = 400;
    this.statusCode = 400;
    if (useErrorCode) this.headers = { 'WWW-Authenticate': bearerChallenge(this.code, this.message) };
    else this.code = '';
  }
}

/** The token was refused (401 `invalid_token`). */
export class InvalidTokenError extends UnauthorizedError {
  override code = 'invalid_token';

  constructor(message = 'Invalid Token') {
    super(message);
    this.headers = { 'WWW-Authenticate': bearerChallenge(this.code, this.message) };
  }
}

/** The token lacks a scope the route requires (403 `insufficient_scope`, naming the scopes). */
export class InsufficientScopeError extends UnauthorizedError {
  override code = 'insufficient_scope';

  constructor(scopes?: readonly string[], message = 'Insufficient Scope') {
    super(message);
    this.status = 403;
    this.statusCode = 403;
    this.headers = { 'WWW-Authenticate': bearerChallenge(this.code, this.message, scopes) };
  }
}

/** The DPoP proof was refused: 400 `invalid_dpop_proof`, as that library answers. */
export class InvalidProofError extends UnauthorizedError {
  override code = 'invalid_dpop_proof';

  constructor(message = 'Invalid DPoP Proof') {
    super(message);
    this.status = 400;
    this.statusCode = 400;
    this.headers = { 'WWW-Authenticate': bearerChallenge(this.code, this.message) };
  }
}
