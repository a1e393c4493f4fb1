/**
 * A Fastify `onRequest` hook that protects routes with MonoCloud access tokens.
 *
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { MonoCloudBackendNodeClient } from '../client.js';
import { authenticate, createProtector, isThenable, type Protector, type RequestDescription } from '../protect/core.js';
import { isRequestCall, misuseHandling } from '../protect/misuse.js';
import { internalErrorResponse, type ResponseDescription } from '../protect/responses.js';
import { metadataServer } from '../protect/metadata.js';
import type { ProtectApiOptions, ProtectApiRequestOptions, ProtectOptions } from '../protect/types.js';
import type { AccessTokenClaims, JwtClaims } from '../types.js';

// The client, the errors and every type, including the protect option types, as the root has them.
export * from '../index.js';
export { claimCheck, claimEquals, claimIncludes, requiredScopes, type ClaimValue } from '../claim-checks.js';

/**
 * The host (and port) the client addressed, by Fastify's `trustProxy` rules: Fastify 5's `host`;
 * Fastify 4 has none, and its `hostname` is the whole host value, port included.
 */
function fastifyHost(request: FastifyRequest): string {
  const { host } = request as { host?: unknown };
  return typeof host === 'string' ? host : request.hostname;
}

/** A Fastify request in the protect core's terms. */
function describe(request: FastifyRequest): RequestDescription<FastifyRequest> {
  return {
    request,
    authorization: request.headers.authorization,
    dpop: request.headers.dpop,
    method: request.method,
    url: () => `${request.protocol}://${fastifyHost(request)}${request.originalUrl ?? request.url}`,
  };
}

/**
 * Writes a refusal through Fastify's reply API, with the calls the original makes (`header`,
 * `status`, `send`), so the mock replies of unit tests see what they expect.
 */
async function writeFastifyResponse(reply: FastifyReply, response: ResponseDescription): Promise<void> {
  if (reply.sent) return;
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  // Apart, not chained: a mock whose `status` does not return the reply still gets the body.
  reply.status(response.status);
  reply.send(response.body);
  // Fastify runs the route once this hook resolves unless the response has ended, and an
  // async onSend hook can still be writing it: wait for a real reply (it is thenable) first.
  // A mock reply has nothing to wait for.
  if (isThenable(reply)) await new Promise<void>((resolve) => reply.then(resolve, () => resolve()));
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The validated token's claims, set by the `protect()` hook. Present only on routes behind
     * it (and `undefined` on an `optional` route called without a token). For your own claims
     * type use `AuthenticatedFastifyRequest<MyClaims>` or `protectApi<MyClaims>()`.
     */
    claims: AccessTokenClaims;
  }
}

/** A request that passed the hook: `claims` holds the validated token's claims. */
export type AuthenticatedFastifyRequest<C extends JwtClaims = AccessTokenClaims> = FastifyRequest & { claims: C };

/**
 * The factory `protectApi()` returns: call it with what a route requires to get an `onRequest`
 * hook, for `{ onRequest: protect() }` or `app.addHook('onRequest', protect())`.
 */
export type ProtectHook<C extends JwtClaims = AccessTokenClaims> = (
  options?: ProtectOptions<C>,
) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function hookOver<C extends JwtClaims>(protector: Protector<FastifyRequest>, protectOptions: ProtectOptions<C> | undefined): Hook {
  // Two parameters exactly: Fastify treats a three-parameter hook as callback-style.
  return async (request, reply) => {
    const authentication = authenticate<FastifyRequest, C>(protector, describe(request), protectOptions);
    const { claims, response } = isThenable(authentication) ? await authentication : authentication;
    if (response) {
      await writeFastifyResponse(reply, response);
      return;
    }
    // Undefined on an optional route called without a token.
    (request as unknown as { claims?: C }).claims = claims;
  };
}

// `addHook('onRequest', protect)` and `addHook('onRequest', protectApi)`: Fastify hands the
// factory `(request, reply)`, and gets a promise back, never a call of `done`.
const misuse = misuseHandling<Hook>({
  adapter: 'fastify',
  isHandlerCall: isRequestCall,
  protectApiUsage:
    'protectApi() builds a hook factory: write `const protect = protectApi(options)` once and ' +
    "`addHook('onRequest', protect())` or `{ onRequest: protect() }`, not `protectApi` itself.",
  factoryUsage:
    "The function protectApi() returns is a factory: use `addHook('onRequest', protect())` or " +
    '`{ onRequest: protect() }`, not `protect` itself.',
  handlerFromEnvironment: () => hookOver(createProtector<FastifyRequest>(undefined, undefined), undefined),
  answerUnconfigured: (_request, reply) => writeFastifyResponse(reply, internalErrorResponse()),
});

/**
 * Builds a hook factory over a new `MonoCloudBackendNodeClient` configured from `options` (any
 * client option, e.g. `audience`, wins over the `MONOCLOUD_BACKEND_*` environment variables).
 * The client is created now, so a misconfiguration throws here, at start-up.
 *
 * The hook reads the token from `tokenResolver` or the `Authorization: Bearer` header,
 * validates it and sets `request.claims`. Otherwise it replies itself (401, 403, 500 or 503 with
 * a JSON `message`) and the route handler does not run.
 */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  options?: ProtectApiOptions<FastifyRequest>,
): ProtectHook<C>;
/** Builds a hook factory over the given client; `options` only says how to read requests. */
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  client: MonoCloudBackendNodeClient,
  options?: ProtectApiRequestOptions<FastifyRequest>,
): ProtectHook<C>;
export function protectApi<C extends JwtClaims = AccessTokenClaims>(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<FastifyRequest>,
  options?: ProtectApiRequestOptions<FastifyRequest>,
): ProtectHook<C> {
  if (misuse.isHandlerCall(clientOrOptions, options)) return misuse.protectApiAsHandler([clientOrOptions, options]) as never;
  const protector = createProtector<FastifyRequest>(clientOrOptions, options);
  return misuse.factory((protectOptions?: ProtectOptions<C>) => hookOver<C>(protector, protectOptions));
}

/**
 * A plugin that serves the protected resource metadata (RFC 9728) at its well-known path, for a
 * client (or client options) with `protectedResource`:
 * `await app.register(protectedResourceMetadata(client))` (without a prefix: the path is
 * absolute).
 */
export function protectedResourceMetadata(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<FastifyRequest>,
): (fastify: FastifyInstance) => Promise<void> {
  const serve = metadataServer<FastifyRequest>(clientOrOptions);
  return async (fastify) => {
    fastify.route({
      method: ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: serve.path,
      // HEAD is answered here, with the GET's headers and no body.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const answer = serve(request.method, serve.path);
        if (answer === undefined) return reply.callNotFound();
        return reply.code(answer.status).headers(answer.headers).send(answer.body === '' ? undefined : answer.body);
      },
    });
  };
}
