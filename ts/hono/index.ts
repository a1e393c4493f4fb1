/**
 * Hono middleware that protects routes with MonoCloud access tokens.
 *
 * @packageDocumentation
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable, type Protector, type RequestDescription } from '../protect/core.js';
import { metadataServer } from '../protect/metadata.js';
import { isContextCall, misuseHandling } from '../protect/misuse.js';
import { describeIncoming } from '../protect/incoming.js';
import type {
  OptionalProtectOptions,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
} from '../protect/types.js';
import { describeFetchRequest, toWebResponse } from '../protect/web.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

/**
 * On Node (@hono/node-server) the Node request is in `c.env.incoming`: its headers are read
 * where they are, instead of having Hono build a whole `Headers` for one value. Both readings
 * give the same values (Node keeps the first `Authorization`, as `describeFetchRequest` does).
 */
function describe(c: Context): RequestDescription<Context> {
  const incoming = (c.env as { incoming?: Partial<IncomingMessage> } | undefined)?.incoming;
  if (typeof incoming?.headers === 'object' && incoming.headers !== null) {
    return describeIncoming(c, { headers: incoming.headers, method: c.req.method }, () => c.req.url);
  }
  return describeFetchRequest(c, c.req.raw);
}

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

/**
 * The environment the middleware adds to a Hono app: `c.var.claims` (or `c.get('claims')`) holds
 * the validated claims. On an `optional` route called without a token it is `undefined`.
 */
export interface ProtectEnv<C extends JwtClaims | undefined = AccessTokenClaims> {
  Variables: { claims: C };
}

/**
 * The factory `protectApi()` returns: call it with what a route requires to get the middleware.
 * On an optional route, `c.var.claims` is typed `C | undefined`.
 */
export interface ProtectHonoMiddleware<C extends JwtClaims = AccessTokenClaims> {
  (options: OptionalProtectOptions<C>): MiddlewareHandler<ProtectEnv<C | undefined>>;
  (options?: ProtectOptions<C>): MiddlewareHandler<ProtectEnv<C>>;
}

/**
 * Builds a middleware factory over a new `MonoCloudBackendNodeClient` configured from `options`
 * (any client option wins over the `MONOCLOUD_BACKEND_*` environment variables). The client is
 * created now, so a misconfiguration throws here, at start-up.
 *
 * The middleware sets `c.var.claims` and calls `next()`; otherwise it returns the refusal (401,
 * 403, 500 or 503 with a JSON `message`) as the response, without calling `next()` and without
 * throwing, so `app.onError` is not involved.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<Context>,
): ProtectHonoMiddleware<C>;
/** Builds a middleware factory over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<Context>,
): ProtectHonoMiddleware<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Context>,
  options?: ProtectApiRequestOptions<Context>,
): ProtectHonoMiddleware<C> {
  if (misuse.isHandlerCall(clientOrOptions, options)) return misuse.protectApiAsHandler([clientOrOptions, options]) as never;
  const protector = createProtector<Context>(clientOrOptions, options);
  // Only an optional route can leave claims undefined: the overloads say which it is.
  return misuse.factory((protectOptions?: ProtectOptions<C>) => middlewareOver<C>(protector, protectOptions)) as ProtectHonoMiddleware<C>;
}

// `app.use(protect)` and `app.use(protectApi)`: Hono hands the factory `(c, next)`.
const misuse = misuseHandling<MiddlewareHandler>({
  adapter: 'hono',
  isHandlerCall: isContextCall,
  protectApiUsage:
    'protectApi() builds a middleware factory: write `const protect = protectApi(options)` once and ' +
    "`app.use('/api/*', protect())`, not `app.use(protectApi)`.",
  factoryUsage: "The function protectApi() returns is a factory: use `app.use('/api/*', protect())`, not `app.use(protect)`.",
  handlerFromEnvironment: () => middlewareOver(createProtector<Context>(undefined, undefined), undefined),
});

function middlewareOver<C extends JwtClaims>(
  protector: Protector<Context>,
  protectOptions: ProtectOptions<C> | undefined,
): MiddlewareHandler<ProtectEnv<C | undefined>> {
  return async (c, next) => {
    const authentication = authenticate<Context, C>(protector, describe(c), protectOptions);
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    if (response) return toWebResponse(response);
    // Undefined on an optional route called without a token.
    c.set('claims', claims);
    await next();
    return undefined;
  };
}

/**
 * Middleware that serves the protected resource metadata (RFC 9728) at its well-known path, for a
 * client (or client options) with `protectedResource`; other requests go on to `next()`. Mount
 * it before anything that requires a token: `app.use(protectedResourceMetadata(client))`.
 */
export function protectedResourceMetadata(clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Context>): MiddlewareHandler {
  const serve = metadataServer<Context>(clientOrOptions);
  return async (c, next) => {
    const answer = serve(c.req.method, c.req.path);
    if (answer === undefined) {
      await next();
      return undefined;
    }
    return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
  };
}
