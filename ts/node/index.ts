/**
 * Protection for plain `node:http` (and `node:https`) servers.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable } from '../protect/core.js';
import { checkRouteOptions } from '../protect/route-options.js';
import { describeIncoming, incomingUrl } from '../protect/incoming.js';
import { metadataServer, pathOf } from '../protect/metadata.js';
import type { ResponseDescription } from '../protect/responses.js';
import type {
  OptionalProtectOptions,
  Protected,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
} from '../protect/types.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

export type { Protected } from '../protect/types.js';

/**
 * What `protectApi()` returns: checks one request and resolves to `{ claims }` when it passes.
 * Otherwise it has answered the request itself (401, 403, 500 or 503 with a JSON `message`) and
 * resolves to `undefined`: the caller only returns. Never rejects.
 */
export interface ProtectRequest<C extends JwtClaims = AccessTokenClaims> {
  /** On an optional route, `claims` is `undefined` when the request came without a token. */
  (req: IncomingMessage, res: ServerResponse, options: OptionalProtectOptions<C>): Promise<Protected<C | undefined> | undefined>;
  (req: IncomingMessage, res: ServerResponse, options?: ProtectOptions<C>): Promise<Protected<C> | undefined>;
}

function writeNodeResponse(res: ServerResponse, response: ResponseDescription): void {
  // Something else answered first: there is nothing left to say.
  if (res.headersSent) return;
  const body = JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...response.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Builds `protectRequest` over a new `MonoCloudBackendNodeClient` configured from `options` (any
 * client option wins over the `MONOCLOUD_BACKEND_*` environment variables). The client is created
 * now, so a misconfiguration throws here, at start-up.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<IncomingMessage>,
): ProtectRequest<C>;
/** Builds `protectRequest` over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<IncomingMessage>,
): ProtectRequest<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<IncomingMessage>,
  options?: ProtectApiRequestOptions<IncomingMessage>,
): ProtectRequest<C> {
  const protector = createProtector<IncomingMessage>(clientOrOptions, options);
  return async (req: IncomingMessage, res: ServerResponse, protectOptions?: ProtectOptions<C>) => {
    checkRouteOptions(protectOptions, 'protectRequest(req, res, options)');
    const authentication = authenticate<IncomingMessage, C>(
      protector,
      describeIncoming(req, req, () => incomingUrl(req)),
      protectOptions,
    );
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    if (response) {
      writeNodeResponse(res, response);
      return undefined;
    }
    // Undefined claims only on an optional route called without a token.
    return { claims: claims as C };
  };
}

/**
 * Serves the protected resource metadata (RFC 9728) at its well-known path, for a client (or
 * client options) with `protectedResource`: answers and returns `true` for a request there,
 * returns `false` (and writes nothing) for any other.
 */
export function protectedResourceMetadata(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<IncomingMessage>,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const serve = metadataServer<IncomingMessage>(clientOrOptions);
  return (req, res) => {
    const answer = serve(req.method, pathOf(req.url));
    if (answer === undefined) return false;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    return true;
  };
}
