// The protect core, shared by every adapter and knowing no framework: a request description in,
// the claims or a response description out. An adapter translates its framework's request into
// a `RequestDescription` and writes the `ResponseDescription` back; nothing else.
import {
  type ChallengeRoute,
  type ChallengeWriter,
  challengeWriterOf,
  MonoCloudBackendNodeClient,
  noTokenChallenge,
  validatesThroughObject,
  verifyRequest,
} from '../client.js';
import { MonoCloudValidationError } from '../errors.js';
import {
  type Answer,
  cachedClaims,
  getBearerToken,
  isThenable,
  type NativeRequest,
  toError,
  stepUpOf,
  unwrap,
  verdictPromise,
} from '../native/index.js';
import type { JwtClaims } from '../types.js';
import { mapProtectError, noTokenResponse, type ResponseDescription } from './responses.js';
import type {
  ClientCertificateResolver,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
  TokenResolver,
} from './types.js';

// The adapters test their own results with it too: promises may come from another realm.
export { isThenable };

/** One request as the protect core sees it. */
export interface RequestDescription<R> {
  /** The framework's own request, handed to the user's resolvers. */
  request: R;
  /** The `Authorization` header as the framework gives it (a string, or nothing). */
  authorization: unknown;
  /** The `DPoP` header value(s), when the request has any. */
  dpop?: string | string[] | undefined;
  /** The HTTP method. */
  method?: string | undefined;
  /** The absolute URL the client addressed; read only when a check needs it. */
  url?: () => string;
}

/** What one `protectApi()` call settled on: the client and how to read requests. */
export interface Protector<R> {
  client: MonoCloudBackendNodeClient;
  tokenResolver?: TokenResolver<R>;
  certificateResolver?: ClientCertificateResolver<R>;
  /** The challenge without any token, when it is not plain `Bearer` (DPoP, the `challenge` option). */
  noTokenChallenge?: string;
  /** Writes the client's challenges; absent for a client that is not one of ours. */
  challenges?: ChallengeWriter;
}

/**
 * The protect core's answer: the validated claims, the response that refuses the request, or
 * neither when an `optional` route was called without a token.
 */
export type Authentication<C> =
  | { claims: C; response?: undefined }
  | { claims?: undefined; response: ResponseDescription }
  | { claims?: undefined; response?: undefined };

// Shared and frozen: an anonymous request on an optional route allocates nothing.
const ANONYMOUS: Authentication<never> = Object.freeze({});

/** What a request without any token gets: a 401 challenge, or a pass on an optional route. */
function withoutToken(options: { optional?: boolean } | undefined, challenge?: string): Authentication<never> {
  return options?.optional === true ? ANONYMOUS : { response: noTokenResponse(challenge) };
}

/** The protector of `client`, with its challenge for requests without a token when not `Bearer`. */
function protectorOf<R>(client: MonoCloudBackendNodeClient, rest: Omit<Protector<R>, 'client'>): Protector<R> {
  const challenge = noTokenChallenge(client);
  const protector: Protector<R> = { client, ...rest };
  if (challenge !== undefined && challenge !== 'Bearer') protector.noTokenChallenge = challenge;
  const challenges = challengeWriterOf(client);
  if (challenges) protector.challenges = challenges;
  return protector;
}

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
    return protectorOf(clientOrOptions, {
      tokenResolver: resolver(options?.tokenResolver, 'tokenResolver'),
      certificateResolver: resolver(options?.certificateResolver, 'certificateResolver'),
    });
  }
  const { tokenResolver, certificateResolver, ...clientOptions } = clientOrOptions ?? options ?? {};
  const resolvers = {
    tokenResolver: resolver(tokenResolver, 'tokenResolver'),
    certificateResolver: resolver(certificateResolver, 'certificateResolver'),
  };
  return protectorOf(new MonoCloudBackendNodeClient(clientOptions), resolvers);
}

/** The request as it crosses; the URL is built only when a DPoP proof needs it. */
function nativeRequest<R>(
  described: RequestDescription<R>,
  authorization: string,
  options?: Pick<ProtectOptions, 'scopes' | 'groups' | 'acrValues' | 'maxAge'>,
): NativeRequest {
  const { dpop } = described;
  const request: NativeRequest = { authorization, scopes: options?.scopes, groups: options?.groups, now: Date.now() };
  if (options?.acrValues !== undefined || options?.maxAge !== undefined) Object.assign(request, stepUpOf(options));
  if (dpop !== undefined) {
    request.dpop = dpop;
    request.method = described.method;
    request.url = described.url?.();
  }
  return request;
}

/**
 * The per-request flow: certificate, token (resolver first, then the `Authorization` header),
 * validation with the route's scopes and groups, then the route's claim checks. Never throws or
 * rejects: every failure comes back as the response to send. On an `optional` route a request
 * with no token passes with no claims; a token that is there must still be valid.
 *
 * A route with no resolvers and no checks, on a client whose validation methods are our own,
 * takes a direct path: the header goes to Rust as it is, and a token verified before is answered
 * synchronously, with no promise at all, which is most of what protecting a busy route costs.
 */
export function authenticate<R, C extends JwtClaims>(
  protector: Protector<R>,
  described: RequestDescription<R>,
  options: ProtectOptions<C> | undefined,
): Authentication<C> | PromiseLike<Authentication<C>> {
  const { client, tokenResolver, certificateResolver } = protector;
  if (
    tokenResolver ||
    certificateResolver ||
    (options?.checks !== undefined && options.checks.length > 0) ||
    validatesThroughObject(client)
  ) {
    return authenticateFully(protector, described, options);
  }
  try {
    const { authorization } = described;
    if (typeof authorization !== 'string') {
      // No header is no token; any other non-string throws there, answered as a bad token.
      getBearerToken(authorization);
      return withoutToken(options, protector.noTokenChallenge);
    }
    const verdict = verifyRequest(client, nativeRequest(described, authorization, options));
    if (verdict === undefined) return withoutToken(options, protector.noTokenChallenge);
    if (typeof verdict === 'string') return { claims: cachedClaims<C>(verdict) };
    if (isThenable<Answer>(verdict)) {
      // Only a refusal that names the route needs its options: the others allocate no closure.
      if (options?.acrValues === undefined && options?.maxAge === undefined && protector.challenges?.full !== true) {
        return verdict.then(fromAnswer<C>, refusedPlainly);
      }
      return verdict.then(
        (answer) => fromAnswer<C>(answer, options, protector.challenges),
        (error: unknown) => refused(error, options, protector.challenges),
      );
    }
    return refused(toError(verdict), options, protector.challenges);
  } catch (error) {
    return refused(error, options, protector.challenges);
  }
}

function fromAnswer<C>(answer: Answer, route?: ChallengeRoute, writer?: ChallengeWriter): Authentication<C> {
  try {
    return { claims: unwrap<C>(answer) };
  } catch (error) {
    return refused(error, route, writer);
  }
}

function refusedPlainly(error: unknown): { response: ResponseDescription } {
  return { response: mapProtectError(error) };
}

function refused(error: unknown, route?: ChallengeRoute, writer?: ChallengeWriter): { response: ResponseDescription } {
  return { response: mapProtectError(error, route, writer) };
}

async function authenticateFully<R, C extends JwtClaims>(
  protector: Protector<R>,
  described: RequestDescription<R>,
  options: ProtectOptions<C> | undefined,
): Promise<Authentication<C>> {
  try {
    const { client, tokenResolver, certificateResolver } = protector;
    const { request } = described;
    const clientCertificate = certificateResolver ? ((await certificateResolver(request)) ?? undefined) : undefined;
    const resolved: unknown = tokenResolver ? await tokenResolver(request) : undefined;
    if (!validatesThroughObject(client)) {
      // Our own validation: the request crosses whole, so DPoP proofs are checked here too.
      const { authorization } = described;
      let native: NativeRequest;
      if (resolved !== undefined && resolved !== null) {
        if (typeof resolved !== 'string') throw new TypeError('An access token must be a string');
        const trimmed = resolved.trim();
        if (!trimmed) return withoutToken(options, protector.noTokenChallenge);
        native = { ...nativeRequest(described, '', options), authorization: undefined, token: trimmed };
        native.method = described.method ?? '';
        native.url ??= described.url?.();
      } else if (typeof authorization === 'string') {
        native = nativeRequest(described, authorization, options);
      } else {
        getBearerToken(authorization);
        return withoutToken(options, protector.noTokenChallenge);
      }
      if (clientCertificate !== undefined) native.clientCertificate = clientCertificate;
      const verdict = verifyRequest(client, native);
      if (verdict === undefined) return withoutToken(options, protector.noTokenChallenge);
      const claims = await verdictPromise<C>(verdict);
      for (const check of options?.checks ?? []) await check.verify(claims);
      return { claims };
    }
    const token = resolved ?? getBearerToken(described.authorization);
    if (token !== undefined && typeof token !== 'string') throw new TypeError('An access token must be a string');
    const trimmed = token?.trim();
    if (!trimmed) return withoutToken(options, protector.noTokenChallenge);

    // Called on the client object, so a subclass or an instance override is honoured.
    const claims = await client.validateAccessToken<C>(trimmed, {
      clientCertificate,
      groups: options?.groups,
      scopes: options?.scopes,
      ...stepUpOf(options),
    });
    for (const check of options?.checks ?? []) await check.verify(claims);
    return { claims };
  } catch (error) {
    return refused(error, options, protector.challenges);
  }
}
