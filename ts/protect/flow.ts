import { MonoCloudBackendNodeClient, validateHeader } from '../client.js';
import { MonoCloudValidationError } from '../errors.js';
import { cachedClaims, settled, toError } from '../native.js';
import type { JwtClaims } from '../types.js';
import { getBearerToken } from './bearer.js';
import { mapProtectError, noTokenResponse, type ProtectResponse } from './responses.js';
import type {
  ClientCertificateResolver,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
  TokenResolver,
} from './types.js';

/** What one `protectApi()` call settled on: the client and how to read requests. */
export interface Protector<R> {
  client: MonoCloudBackendNodeClient;
  tokenResolver?: TokenResolver<R>;
  certificateResolver?: ClientCertificateResolver<R>;
}

export type Authentication<C> = { claims: C; refusal?: undefined } | { claims?: undefined; refusal: ProtectResponse };

// Duck-typed too, so a client from another copy of the package (or a test double) is used as given.
function isClient(value: unknown): value is MonoCloudBackendNodeClient {
  return (
    value instanceof MonoCloudBackendNodeClient ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { validateAccessToken?: unknown }).validateAccessToken === 'function')
  );
}

function resolver<F>(value: F | undefined, name: string): F | undefined {
  if (value !== undefined && value !== null && typeof value !== 'function') {
    throw new MonoCloudValidationError(`"${name}" must be of type function`);
  }
  return value ?? undefined;
}

/**
 * Both `protectApi` overloads: a client and its request options, or options for a new client
 * (built now, so misconfiguration throws at start-up rather than on the first request).
 */
export function createProtector<R>(
  clientOrOptions: MonoCloudBackendNodeClient | ProtectApiOptions<R> | undefined,
  options: ProtectApiRequestOptions<R> | undefined,
): Protector<R> {
  if (isClient(clientOrOptions)) {
    return {
      client: clientOrOptions,
      tokenResolver: resolver(options?.tokenResolver, 'tokenResolver'),
      certificateResolver: resolver(options?.certificateResolver, 'certificateResolver'),
    };
  }
  const { tokenResolver, certificateResolver, ...clientOptions } = clientOrOptions ?? options ?? {};
  return {
    tokenResolver: resolver(tokenResolver, 'tokenResolver'),
    certificateResolver: resolver(certificateResolver, 'certificateResolver'),
    client: new MonoCloudBackendNodeClient(clientOptions),
  };
}

const ownValidateAccessToken = MonoCloudBackendNodeClient.prototype.validateAccessToken;

/**
 * The per-request flow shared by the adapters: certificate, token (resolver first, then the
 * `Authorization` header), validation with the route's scopes and groups, then the route's claim
 * checks. Never throws or rejects: every failure comes back as the response to send.
 *
 * A route with no resolvers and no checks, on a client whose `validateAccessToken` is our own,
 * takes a direct path: a token verified before is answered synchronously, with no promise at
 * all, which is most of what protecting a busy route costs.
 */
export function authenticate<R, C extends JwtClaims>(
  protector: Protector<R>,
  req: R,
  authorizationHeader: () => unknown,
  options: ProtectOptions<C> | undefined,
): Authentication<C> | Promise<Authentication<C>> {
  const { client, tokenResolver, certificateResolver } = protector;
  if (
    tokenResolver ||
    certificateResolver ||
    (options?.checks !== undefined && options.checks.length > 0) ||
    client.validateAccessToken !== ownValidateAccessToken
  ) {
    return authenticateFully(protector, req, authorizationHeader, options);
  }
  try {
    const header = authorizationHeader();
    if (typeof header !== 'string') {
      // No header is no token; any other non-string throws there, answered as a bad token.
      getBearerToken(header);
      return { refusal: noTokenResponse() };
    }
    const answer = validateHeader(client, header, options?.scopes, options?.groups);
    if (answer === undefined) return { refusal: noTokenResponse() };
    if (typeof answer === 'string') return { claims: cachedClaims<C>(answer) };
    if (answer instanceof Promise) return answer.then(fromSettled<C>, refused);
    return refused(toError(answer));
  } catch (error) {
    return refused(error);
  }
}

function fromSettled<C>(answer: Parameters<typeof settled>[0]): Authentication<C> {
  try {
    return { claims: settled<C>(answer) };
  } catch (error) {
    return refused(error);
  }
}

function refused(error: unknown): { refusal: ProtectResponse } {
  return { refusal: mapProtectError(error) };
}

async function authenticateFully<R, C extends JwtClaims>(
  protector: Protector<R>,
  req: R,
  authorizationHeader: () => unknown,
  options: ProtectOptions<C> | undefined,
): Promise<Authentication<C>> {
  try {
    const { client, tokenResolver, certificateResolver } = protector;
    const clientCertificate = certificateResolver ? ((await certificateResolver(req)) ?? undefined) : undefined;
    const resolved: unknown = tokenResolver ? await tokenResolver(req) : undefined;
    const token = resolved ?? getBearerToken(authorizationHeader());
    if (token !== undefined && typeof token !== 'string') throw new TypeError('An access token must be a string');
    const trimmed = token?.trim();
    if (!trimmed) return { refusal: noTokenResponse() };

    // Called on the client object, so a subclass or an instance override is honoured.
    const claims = await client.validateAccessToken<C>(trimmed, {
      clientCertificate,
      groups: options?.groups,
      scopes: options?.scopes,
    });
    for (const check of options?.checks ?? []) await check.verify(claims);
    return { claims };
  } catch (error) {
    return refused(error);
  }
}
