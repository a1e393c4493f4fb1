/**
 * Express middleware that protects routes with MonoCloud access tokens.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, Response } from 'express';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable, type RequestDescription } from '../protect/core.js';
import { metadataServer, pathOf } from '../protect/metadata.js';
import type { ProtectApiOptions, ProtectApiRequestOptions, ProtectOptions } from '../protect/types.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';
import { writeExpressResponse } from './respond.js';

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

/**
 * The host (and port) the client addressed, by Express's `trust proxy` rules, as Express 5's
 * `req.host` reads it (Express 4 has only `req.hostname`, which drops the port): the first
 * `X-Forwarded-Host` when the peer is trusted, the `Host` header otherwise.
 */
function expressHost(req: Request): string {
  const trust: unknown = req.app?.get('trust proxy fn');
  let host = req.get('x-forwarded-host');
  if (!host || typeof trust !== 'function' || !trust(req.socket?.remoteAddress, 0)) host = req.get('host');
  if (host === undefined) return '';
  const comma = host.indexOf(',');
  return (comma === -1 ? host : host.slice(0, comma)).trim();
}

/** An Express request in the protect core's terms. */
function describe(req: Request): RequestDescription<Request> {
  return {
    request: req,
    authorization: req.headers.authorization,
    dpop: req.headers.dpop,
    method: req.method,
    url: () => `${req.protocol}://${expressHost(req)}${req.originalUrl}`,
  };
}

/** A request that passed `protect()`: `claims` holds the validated token's claims. */
export type AuthenticatedExpressRequest<C extends JwtClaims = AccessTokenClaims> = Request & { claims: C };

/**
 * The factory `protectApi()` returns: call it per route (or once for `app.use`) with what the
 * route requires, and it gives the middleware.
 */
export type ProtectMiddleware<C extends JwtClaims = AccessTokenClaims> = (
  options?: ProtectOptions<C>,
) => (req: Request, res: Response, next: NextFunction) => Promise<void>;

/**
 * Builds a middleware factory over a new `MonoCloudBackendNodeClient` configured from `options`
 * (any client option, e.g. `audience`, wins over the `MONOCLOUD_BACKEND_*` environment
 * variables). The client is created now, so a misconfiguration throws here, at start-up.
 *
 * The middleware reads the token from `tokenResolver` or the `Authorization: Bearer` header,
 * validates it, sets `req.claims` and calls `next()`. Otherwise it answers the request itself
 * (401, 403, 500 or 503 with a JSON `message`) and never calls `next`.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<Request>,
): ProtectMiddleware<C>;
/** Builds a middleware factory over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<Request>,
): ProtectMiddleware<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Request>,
  options?: ProtectApiRequestOptions<Request>,
): ProtectMiddleware<C> {
  const protector = createProtector<Request>(clientOrOptions, options);
  return (protectOptions) => async (req, res, next) => {
    const authentication = authenticate<Request, C>(protector, describe(req), protectOptions);
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    if (response) {
      writeExpressResponse(res, response);
      return;
    }
    // Undefined on an optional route called without a token.
    (req as { claims?: C }).claims = claims;
    next();
  };
}

/**
 * Serves the protected resource metadata (RFC 9728) at its well-known path, for a client (or
 * client options) with `protectedResource`; other requests go on to `next()`. Mount it before
 * anything that requires a token: `app.use(protectedResourceMetadata(client))`.
 */
export function protectedResourceMetadata(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Request>,
): (req: Request, res: Response, next: NextFunction) => void {
  const serve = metadataServer<Request>(clientOrOptions);
  return (req, res, next) => {
    const answer = serve(req.method, pathOf(req.originalUrl ?? req.url));
    if (answer === undefined) {
      next();
      return;
    }
    res.status(answer.status).set(answer.headers).end(answer.body);
  };
}
