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
