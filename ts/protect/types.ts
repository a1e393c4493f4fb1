import type {
  AccessTokenClaims,
  JwtClaims,
  MonoCloudBackendNodeClientOptions,
  ValidateAccessTokenOptions,
} from '../types.js';

/**
 * Finds the access token of a request (a cookie, another header...). Resolving to `undefined`
 * (or `null`) falls back to the `Authorization: Bearer` header; an empty string does not.
 */
export type TokenResolver<T> = (req: T) => Promise<string | undefined> | string | undefined;

/**
 * Finds the client certificate of a request (PEM or base64 DER), for certificate-bound tokens.
 * It runs before the token is looked for, on every request.
 */
export type ClientCertificateResolver<T> = (req: T) => Promise<string | undefined> | string | undefined;

/** How `protectApi()` reads a request of type `T`. */
export interface ProtectApiRequestOptions<T> {
  tokenResolver?: TokenResolver<T>;
  certificateResolver?: ClientCertificateResolver<T>;
}

/**
 * `protectApi(options)` without a client: the resolvers plus any client option, which win over
 * the `MONOCLOUD_BACKEND_*` environment variables.
 */
export type ProtectApiOptions<T> = ProtectApiRequestOptions<T> & Partial<MonoCloudBackendNodeClientOptions>;

/** The response methods a claim check calls when it is used as Express middleware. */
export interface ClaimCheckResponse {
  headersSent?: boolean;
  status(code: number): ClaimCheckResponse;
  set(field: string, value: string): ClaimCheckResponse;
  json(body: unknown): unknown;
}

/**
 * A rule about a validated token's claims, made by `requiredScopes`, `claimEquals`,
 * `claimIncludes` or `claimCheck`.
 *
 * - It is Express middleware for use after `protect()`: it reads `req.claims`, calls `next()`
 *   when the rule holds and otherwise answers like `protect()` does (403 `insufficient_scope`
 *   for scopes, 401 `invalid_token` for other claims; 401 `Bearer` if `protect()` did not run).
 * - It can be passed in `protect({ checks: [...] })` on Express and Fastify.
 * - `verify(claims)` applies it to any claims: it rejects with a `MonoCloudTokenError`.
 */
export interface ClaimCheck<C extends JwtClaims = AccessTokenClaims> {
  (req: object, res: ClaimCheckResponse, next: (error?: unknown) => void): Promise<void>;
  verify(claims: C): Promise<void>;
}

/** What one protected route asks of a token. */
export interface ProtectOptions<C extends JwtClaims = AccessTokenClaims>
  extends Omit<ValidateAccessTokenOptions, 'clientCertificate'> {
  /** Every one of these must be in the token's `scope` (403 `insufficient_scope` otherwise). */
  scopes?: string[];
  /** The user must be in these groups (any, or all with `groupOptions.matchAll`); 403 otherwise. */
  groups?: string[];
  /** Claim checks run in order once the token is valid; the first that fails decides the answer. */
  checks?: ReadonlyArray<ClaimCheck<C>>;
  /**
   * Let requests without any token through with no claims (`claims` is `undefined`), for routes
   * that serve anonymous callers and signed-in ones differently. A token that is present must
   * still be valid and meet the route's requirements: a bad one gets the usual 401 or 403.
   */
  optional?: boolean;
}

/** The options of an optional route: its claims may be `undefined`, and the types say so. */
export type OptionalProtectOptions<C extends JwtClaims = AccessTokenClaims> = ProtectOptions<C> & { optional: true };

/** A request that passed: the validated claims (`undefined` on an optional route without a token). */
export interface Protected<C> {
  claims: C;
}
