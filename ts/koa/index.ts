/**
 * Koa 2 and 3 middleware that protects routes with MonoCloud access tokens.
 *
 * @packageDocumentation
 */
import type { Context, Next } from 'koa';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable, type Protector } from '../protect/core.js';
import { metadataServer } from '../protect/metadata.js';
import { isContextCall, misuseHandling } from '../protect/misuse.js';
import { describeIncoming } from '../protect/incoming.js';
import type { ProtectApiOptions, ProtectApiRequestOptions, ProtectOptions } from '../protect/types.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

/**
 * The factory `protectApi()` returns: call it with what a route requires to get the middleware,
 * which sets `ctx.state.claims` (`undefined` on an optional route called without a token).
 */
export type ProtectKoaMiddleware<C extends JwtClaims = AccessTokenClaims> = (
  options?: ProtectOptions<C>,
) => (ctx: Context, next: Next) => Promise<void>;

/** `ctx.state` once the middleware has passed the request. */
export interface ProtectState<C extends JwtClaims = AccessTokenClaims> {
  claims: C;
}

/**
 * Builds a middleware factory over a new `MonoCloudBackendNodeClient` configured from `options`
 * (any client option wins over the `MONOCLOUD_BACKEND_*` environment variables). The client is
 * created now, so a misconfiguration throws here, at start-up.
 *
 * A refused request gets its status, `WWW-Authenticate` and JSON body set on `ctx` (nothing is
 * thrown, so no error handler or `error` event sees it) and the next middleware does not run.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<Context>,
): ProtectKoaMiddleware<C>;
/** Builds a middleware factory over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<Context>,
): ProtectKoaMiddleware<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Context>,
  options?: ProtectApiRequestOptions<Context>,
): ProtectKoaMiddleware<C> {
  if (misuse.isHandlerCall(clientOrOptions, options)) return misuse.protectApiAsHandler([clientOrOptions, options]) as never;
  const protector = createProtector<Context>(clientOrOptions, options);
  return misuse.factory((protectOptions?: ProtectOptions<C>) => middlewareOver<C>(protector, protectOptions));
}

type KoaMiddleware = (ctx: Context, next: Next) => Promise<void>;

// `app.use(protect)` and `app.use(protectApi)`: Koa hands the factory `(ctx, next)`.
const misuse = misuseHandling<KoaMiddleware>({
  adapter: 'koa',
  isHandlerCall: isContextCall,
  protectApiUsage:
    'protectApi() builds a middleware factory: write `const protect = protectApi(options)` once and ' +
    '`app.use(protect())`, not `app.use(protectApi)`.',
  factoryUsage: 'The function protectApi() returns is a factory: use `app.use(protect())`, not `app.use(protect)`.',
  handlerFromEnvironment: () => middlewareOver(createProtector<Context>(undefined, undefined), undefined),
});

function middlewareOver<C extends JwtClaims>(protector: Protector<Context>, protectOptions: ProtectOptions<C> | undefined): KoaMiddleware {
  return async (ctx, next) => {
    const described = describeIncoming(ctx, ctx.req, () => ctx.href);
    const authentication = authenticate<Context, C>(protector, described, protectOptions);
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    if (response) {
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
      return;
    }
    // Undefined on an optional route called without a token.
    (ctx.state as { claims?: C }).claims = claims;
    await next();
  };
}

/**
 * Middleware that serves the protected resource metadata (RFC 9728) at its well-known path, for a
 * client (or client options) with `protectedResource`; other requests go on to `next()`. Mount
 * it before anything that requires a token: `app.use(protectedResourceMetadata(client))`.
 */
export function protectedResourceMetadata(clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Context>): KoaMiddleware {
  const serve = metadataServer<Context>(clientOrOptions);
  return async (ctx, next) => {
    const answer = serve(ctx.method, ctx.path);
    if (answer === undefined) {
      await next();
      return;
    }
    ctx.status = answer.status;
    ctx.set(answer.headers);
    // An empty body is left unset: Koa would count it as `Content-Length: 0`, and a HEAD answer
    // keeps the length of the document it stands for.
    if (answer.body !== '') ctx.body = answer.body;
  };
}
