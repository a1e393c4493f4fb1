/**
 * Express middleware that protects routes with MonoCloud access tokens.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, Response } from 'express';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { MonoCloudRefusalError } from '../errors.js';
import {
  type Authentication,
  authenticate,
  createProtector,
  isThenable,
  type Protector,
  type RequestDescription,
} from '../protect/core.js';
import { inCheckPhase } from '../native/index.js';
import { isRequestCall, misuseHandling } from '../protect/misuse.js';
import { internalErrorResponse } from '../protect/responses.js';
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

declare global {
  // Express's own types merge this namespace into every `Request` (Express 4 and 5), so
  // importing this module types `req.claims` in the handlers after `protect()`.
  namespace Express {
    interface Request {
      /**
       * The validated token's claims, set by `protect()`. Present only on routes behind it (and
       * `undefined` on an `optional` route called without a token). For your own claims type use
       * `AuthenticatedExpressRequest<MyClaims>` or `protectApi<MyClaims>()`.
       */
      claims: AccessTokenClaims;
    }
  }
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

/** What Express's `protectApi()` adds to every adapter's options. */
export interface ExpressProtectApiOptions {
  /**
   * Hand every refusal to `next(err)` as a `MonoCloudRefusalError` (with `status`, `headers` and
   * the JSON `body` that would have been sent) instead of answering, so your error middleware
   * decides the response. Default `false`: the middleware answers by itself.
   */
  passErrorsToNext?: boolean;
}

const EXPRESS_OPTION_NAMES = ['passErrorsToNext'];

type Middleware = (req: Request, res: Response, next: NextFunction) => Promise<void>;

function middlewareOver<C extends JwtClaims>(
  protector: Protector<Request>,
  protectOptions: ProtectOptions<C> | undefined,
): Middleware {
  const passErrorsToNext = protector.adapterOptions.passErrorsToNext === true;
  // Errors thrown on the way on (by `next`, or a refusal's write) go to `next(err)`, as Express
  // does with a middleware's own throws, on Express 4 (which ignores a returned promise) too.
  // `done` settles the promise of a caller that awaits the middleware.
  const proceed = (req: Request, res: Response, next: NextFunction, settled: Authentication<C>, done?: () => void): void => {
    try {
      if (settled.response) {
        if (passErrorsToNext) next(new MonoCloudRefusalError(settled.response, settled.cause));
        else writeExpressResponse(res, settled.response);
      } else {
        // Undefined on an optional route called without a token.
        (req as unknown as { claims?: C }).claims = settled.claims;
        next();
      }
    } catch (error) {
      next(error);
    }
    done?.();
  };
  // A verdict at hand (a token verified before, or a refusal) is acted on in the event loop's
  // check phase, after every request read in the same turn has been routed this far, instead
  // of within the read: under load the responses then go out together, one burst per turn.
  // With Express, which does a lot per request, this saved more per request in `bench/cpu.mjs`
  // than protection costs (event loop 89 → 82 µs per request with one token; 80 µs without
  // protection), and it adds no more than the rest of that turn to a response. Each request
  // gets its own `setImmediate`, which keeps its async context (AsyncLocalStorage) for `next`;
  // it is the one read at load, so a test's fake timers cannot hold the request back. The
  // promise returned settles once `next` (or the refusal) has run.
  return (req, res, next) => {
    const authentication = authenticate<Request, C>(protector, describe(req), protectOptions);
    if (isThenable(authentication)) {
      return Promise.resolve(authentication).then((settled) => proceed(req, res, next, settled));
    }
    return new Promise<void>((resolve) => {
      inCheckPhase(proceed, req, res, next, authentication, resolve);
    });
  };
}

function checkPassErrorsToNext(value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError('protectApi(options): option "passErrorsToNext" must be a boolean');
  }
}

// `app.use(protect)` and `app.use(protectApi)`: Express hands the factory `(req, res, next)`.
const misuse = misuseHandling<Middleware>({
  adapter: 'express',
  isHandlerCall: isRequestCall,
  protectApiUsage:
    'protectApi() builds a middleware factory: write `const protect = protectApi(options)` once and ' +
    '`app.use(protect())`, not `app.use(protectApi)`.',
  factoryUsage:
    'The function protectApi() returns is a factory: use `app.use(protect())` (or ' +
    '`protect({ scopes: [...] })`), not `app.use(protect)`.',
  handlerFromEnvironment: () => middlewareOver(createProtector<Request>(undefined, undefined), undefined),
  answerUnconfigured: (_req, res) => writeExpressResponse(res, internalErrorResponse()),
});

/**
 * Builds a middleware factory over a new `MonoCloudBackendNodeClient` configured from `options`
 * (any client option, e.g. `audience`, wins over the `MONOCLOUD_BACKEND_*` environment
 * variables). The client is created now, so a misconfiguration throws here, at start-up.
 *
 * The middleware reads the token from `tokenResolver` or the `Authorization: Bearer` header,
 * validates it, sets `req.claims` and calls `next()`. Otherwise it answers the request itself
 * (401, 403, 500 or 503 with a JSON `message`) and never calls `next`, unless
 * `passErrorsToNext` is set: then it calls `next(err)` with a `MonoCloudRefusalError`.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<Request> & ExpressProtectApiOptions,
): ProtectMiddleware<C>;
/** Builds a middleware factory over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<Request> & ExpressProtectApiOptions,
): ProtectMiddleware<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | (ProtectApiOptions<Request> & ExpressProtectApiOptions),
  options?: ProtectApiRequestOptions<Request> & ExpressProtectApiOptions,
  ...rest: unknown[]
): ProtectMiddleware<C> {
  if (misuse.isHandlerCall(clientOrOptions, options)) return misuse.protectApiAsHandler([clientOrOptions, options, ...rest]) as never;
  const protector = createProtector<Request>(clientOrOptions, options, EXPRESS_OPTION_NAMES);
  checkPassErrorsToNext(protector.adapterOptions.passErrorsToNext);
  return misuse.factory((protectOptions?: ProtectOptions<C>) => middlewareOver<C>(protector, protectOptions));
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
