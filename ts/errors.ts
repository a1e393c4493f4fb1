import type { MonoCloudRawResponse, MonoCloudTokenErrorCode } from './types.js';

/** The base of every error this package throws on purpose. */
export class MonoCloudAuthBaseError extends Error {
  /** The authorization server's answer, when the error is about one. */
  raw?: MonoCloudRawResponse;

  constructor(message?: string, raw?: MonoCloudRawResponse) {
    super(message);
    this.name = 'MonoCloudAuthBaseError';
    if (raw !== undefined) this.raw = raw;
  }
}

/** Configuration or usage problems: a missing option, a blank token, an endpoint the issuer lacks. */
export class MonoCloudValidationError extends MonoCloudAuthBaseError {
  constructor(message?: string, raw?: MonoCloudRawResponse) {
    super(message, raw);
    this.name = 'MonoCloudValidationError';
  }
}

/** The access token is not acceptable; `code` says why. */
export class MonoCloudTokenError extends MonoCloudAuthBaseError {
  code: MonoCloudTokenErrorCode;
  /** For DPoP refusals: the HTTP status to answer with (401, 400 or 403). */
  status?: number;
  /** For DPoP refusals: the headers to answer with (`WWW-Authenticate`, `DPoP-Nonce`...). */
  headers?: Record<string, string>;

  constructor(message?: string, code: MonoCloudTokenErrorCode = 'invalid_token', raw?: MonoCloudRawResponse) {
    super(message, raw);
    this.name = 'MonoCloudTokenError';
    this.code = code;
  }
}

/** The authorization server answered with an OAuth error (for example `invalid_client`). */
export class MonoCloudOPError extends MonoCloudAuthBaseError {
  error: string;
  errorDescription?: string;

  constructor(error: string, errorDescription?: string, raw?: MonoCloudRawResponse) {
    super(error, raw);
    this.name = 'MonoCloudOPError';
    this.error = error;
    if (errorDescription !== undefined) this.errorDescription = errorDescription;
  }
}

/** The authorization server could not be reached, or answered unexpectedly. */
export class MonoCloudHttpError extends MonoCloudAuthBaseError {
  constructor(message?: string, raw?: MonoCloudRawResponse) {
    super(message, raw);
    this.name = 'MonoCloudHttpError';
  }

  /** The HTTP status of the answer; `undefined` when there was none (network error, timeout). */
  get status(): number | undefined {
    return this.raw?.status;
  }

  get statusText(): string | undefined {
    return this.raw?.statusText;
  }
}

/**
 * A refused request, as `protectApi({ passErrorsToNext: true })` hands it to Express's
 * `next(err)`: the answer the middleware would have sent (`status`, `headers` with the exact
 * `WWW-Authenticate`, the JSON `body`), for your error middleware to send, log or reshape.
 * `cause` is the validation error behind it, when there is one (none for a missing token).
 */
export class MonoCloudRefusalError extends MonoCloudAuthBaseError {
  /** The HTTP status: 401, 403, 500 or 503. */
  readonly status: number;
  /** The same as `status`, the name Express's default error handler also reads. */
  readonly statusCode: number;
  /** The response headers: `WWW-Authenticate` on 401 and 403, nothing on 500 and 503. */
  readonly headers: Record<string, string>;
  /** The JSON body the middleware would have sent. */
  readonly body: { message: string };
  /** Whether the message is safe to show the caller (4xx), as `http-errors` marks it. */
  readonly expose: boolean;
  /**
   * The `error` of the `WWW-Authenticate` challenge (`invalid_token`, `insufficient_scope`);
   * `undefined` when there is none (no token at all, 500, 503).
   */
  readonly code: string | undefined;

  constructor(
    response: { status: number; headers: Record<string, string>; body: { message: string } },
    cause?: unknown,
  ) {
    super(response.body.message);
    this.name = 'MonoCloudRefusalError';
    this.status = response.status;
    this.statusCode = response.status;
    this.headers = { ...response.headers };
    this.body = { ...response.body };
    this.expose = response.status < 500;
    this.code = /error="([^"]*)"/.exec(this.headers['WWW-Authenticate'] ?? '')?.[1];
    if (cause !== undefined) this.cause = cause;
  }
}
