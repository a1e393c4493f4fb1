/**
 * Protection for web-standard `Request`/`Response` servers: Next.js App Router route handlers,
 * Bun, Deno, Cloudflare-style workers and MCP servers on web-standard transports.
 *
 * @packageDocumentation
 */
import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable } from '../protect/core.js';
import { checkRouteOptions } from '../protect/route-options.js';
import type {
  OptionalProtectOptions,
  Protected,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
} from '../protect/types.js';
import { metadataServer, pathOf } from '../protect/metadata.js';
import { describeFetchRequest, toWebResponse } from '../protect/web.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

export type { Protected } from '../protect/types.js';

/**
 * A route handler that runs once the request has passed, with the claims as its third argument
 * (`undefined` on an optional route called without a token). `context` is whatever the server
 * passes second (Next.js: `{ params }`).
 */
export type ProtectedHandler<C, Ctx> = (request: Request, context: Ctx, claims: C) => Response | Promise<Response>;

/** What `protectApi()` returns for web-standard servers. */
export interface WebProtector<C extends JwtClaims = AccessTokenClaims> {
  /**
   * Checks a request: resolves to `{ claims }` when it passes, otherwise to the `Response` that
   * refuses it (401, 403, 500 or 503 with the JSON body and `WWW-Authenticate` of every adapter),
   * to be returned as it is. Never rejects.
   */
  protect(request: Request, options: OptionalProtectOptions<C>): Promise<Protected<C | undefined> | Response>;
  protect(request: Request, options?: ProtectOptions<C>): Promise<Protected<C> | Response>;
  /**
   * Wraps a route handler (`export const GET = withProtectApi(handler, { scopes })` in Next.js):
   * a refused request gets the refusal, a passing one runs `handler(request, context, claims)`.
   */
  withProtectApi<Ctx = unknown>(
    handler: ProtectedHandler<C | undefined, Ctx>,
    options: OptionalProtectOptions<C>,
  ): (request: Request, context: Ctx) => Promise<Response>;
  withProtectApi<Ctx = unknown>(
    handler: ProtectedHandler<C, Ctx>,
    options?: ProtectOptions<C>,
  ): (request: Request, context: Ctx) => Promise<Response>;
}

/**
 * Builds `protect` and `withProtectApi` over a new `MonoCloudBackendNodeClient` configured from
 * `options` (any client option wins over the `MONOCLOUD_BACKEND_*` environment variables). The
 * client is created now, so a misconfiguration throws here, at start-up.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<Request>,
): WebProtector<C>;
/** Builds `protect` and `withProtectApi` over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<Request>,
): WebProtector<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Request>,
  options?: ProtectApiRequestOptions<Request>,
): WebProtector<C> {
  const protector = createProtector<Request>(clientOrOptions, options);

  async function protect(request: Request, protectOptions?: ProtectOptions<C>): Promise<Protected<C> | Response> {
    checkRouteOptions(protectOptions, 'protect(request, options)');
    const authentication = authenticate<Request, C>(protector, describeFetchRequest(request, request), protectOptions);
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    // Undefined claims only on an optional route called without a token.
    return response ? toWebResponse(response) : { claims: claims as C };
  }

  function withProtectApi<Ctx>(handler: ProtectedHandler<C, Ctx>, protectOptions?: ProtectOptions<C>) {
    checkRouteOptions(protectOptions, 'withProtectApi(handler, options)');
    return async (request: Request, context: Ctx): Promise<Response> => {
      const result = await protect(request, protectOptions);
      // Our own refusal, made in this realm by toWebResponse.
      return result instanceof Response ? result : handler(request, context, result.claims);
    };
  }

  return { protect, withProtectApi };
}

/**
 * A handler for the protected resource metadata (RFC 9728): the `Response` for a request at its
 * well-known path, `undefined` for any other, for a client (or client options) with
 * `protectedResource`.
 */
export function protectedResourceMetadata(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<Request>,
): (request: Request) => Response | undefined {
  const serve = metadataServer<Request>(clientOrOptions);
  return (request) => {
    const answer = serve(request.method, pathOf(new URL(request.url, 'http://localhost').pathname));
    if (answer === undefined) return undefined;
    return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
  };
}
