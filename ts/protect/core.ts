// The protect core, shared by every adapter and knowing no framework: a request description in,
// the claims or a response description out. An adapter translates its framework's request into
// a `RequestDescription` and writes the `ResponseDescription` back; nothing else.
import {
  type ChallengeRoute,
  type ChallengeWriter,
  challengeWriterOf,
  MonoCloudBackendNodeClient,
  noTokenChallenge,
  responseTimeoutOf,
  validatesThroughObject,
  verifyRequest,
} from '../client.js';
import { MonoCloudHttpError, MonoCloudValidationError } from '../errors.js';
import {
  type Answer,
  cachedClaims,
  getBearerToken,
  isThenable,
  type NativeRequest,
  startTimer,
  stepUpOf,
  stopTimer,
  toError,
  unwrap,
  verdictPromise,
} from '../native/index.js';
import { alreadyChecked, CLIENT_OPTION_NAMES, PROTECT_API_OPTION_NAMES, warnUnknownOptions } from '../options/names.js';
import type { JwtClaims } from '../types.js';
import { mapProtectError, noTokenResponse, type ResponseDescription } from './responses.js';
import { warnAbout } from './warnings.js';
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
  /** The adapter's own `protectApi()` options (see `createProtector`'s `adapterOptions`). */
  adapterOptions: Record<string, unknown>;
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
  | { claims?: undefined; response: ResponseDescription; cause?: unknown }
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

/** The members of `options` named in `names`, moved out of `options` into the result. */
function take(options: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const taken: Record<string, unknown> = {};
  for (const name of names) {
    if (name in options) {
      taken[name] = options[name];
      delete options[name];
    }
  }
  return taken;
}

/**
 * Both `protectApi` overloads: a client and its request options, or options for a new client
 * (built now, so misconfiguration throws at start-up rather than on the first request).
 * `adapterOptionNames` are the options one adapter adds to `protectApi()` (Express's
 * `passErrorsToNext`): they are kept apart for it and never reach the client. `where` names the
 * call in the warning an unknown option gets.
 */
export function createProtector<R>(
  clientOrOptions: MonoCloudBackendNodeClient | ProtectApiOptions<R> | undefined,
  options: ProtectApiRequestOptions<R> | undefined,
  adapterOptionNames: readonly string[] = [],
  where = 'protectApi()',
): Protector<R> {
  const ownNames = [...PROTECT_API_OPTION_NAMES, ...adapterOptionNames];
  if (isClient(clientOrOptions)) {
    warnUnknownOptions(options, ownNames, `${where} with a client`, {
      names: CLIENT_OPTION_NAMES,
      hint: 'It is a client option: give it to the client you pass.',
    });
    const given = { ...(options as Record<string, unknown> | undefined) };
    return protectorOf(clientOrOptions, {
      tokenResolver: resolver(options?.tokenResolver, 'tokenResolver'),
      certificateResolver: resolver(options?.certificateResolver, 'certificateResolver'),
      adapterOptions: take(given, adapterOptionNames),
    });
  }
  const given = clientOrOptions ?? options ?? {};
  warnUnknownOptions(given, [...CLIENT_OPTION_NAMES, ...ownNames], where);
  const { tokenResolver, certificateResolver, ...clientOptions } = given as ProtectApiOptions<R>;
  const rest = {
    tokenResolver: resolver(tokenResolver, 'tokenResolver'),
    certificateResolver: resolver(certificateResolver, 'certificateResolver'),
    adapterOptions: take(clientOptions as Record<string, unknown>, adapterOptionNames),
  };
  return protectorOf(new MonoCloudBackendNodeClient(alreadyChecked(clientOptions)), rest);
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
      return verdict.then(
        (answer) => fromAnswer<C>(client, answer, options, protector.challenges),
        (error: unknown) => refused(client, error, options, protector.challenges),
      );
    }
    return refused(client, toError(verdict), options, protector.challenges);
  } catch (error) {
    return refused(client, error, options, protector.challenges);
  }
}

function fromAnswer<C>(
  client: MonoCloudBackendNodeClient,
  answer: Answer,
  route?: ChallengeRoute,
  writer?: ChallengeWriter,
): Authentication<C> {
  try {
    return { claims: unwrap<C>(answer) };
  } catch (error) {
    return refused(client, error, route, writer);
  }
}

/** The answer to `error`; one the configuration or the issuer caused is also reported (see warnings.ts). */
function refused(
  client: MonoCloudBackendNodeClient,
  error: unknown,
  route?: ChallengeRoute,
  writer?: ChallengeWriter,
): { response: ResponseDescription; cause: unknown } {
  // The route's scopes and step-up requirements word the challenge (RFC 6750 §3, RFC 9470 §3).
  const response = mapProtectError(error, route, writer);
  if (response.status >= 500) warnAbout(client, error, response.status);
  return { response, cause: error };
}

// `responseTimeout`'s default, for a client that is not ours.
const DEFAULT_RESPONSE_TIMEOUT_MS = 10_000;

/**
 * A user resolver's value, waited for at most `responseTimeout`: one that never settles ends the
 * request as an unreachable issuer does (503), instead of leaving it pending.
 */
function settled<T>(value: T | PromiseLike<T>, client: MonoCloudBackendNodeClient, name: string): T | Promise<T> {
  if (!isThenable<T>(value)) return value;
  const ms = responseTimeoutOf(client) ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = startTimer(
      () => reject(new MonoCloudHttpError(`${name} did not settle within ${ms}ms (responseTimeout)`)),
      ms,
    );
  });
  return Promise.race([Promise.resolve(value), deadline]).finally(() => stopTimer(timer));
}

async function authenticateFully<R, C extends JwtClaims>(
  protector: Protector<R>,
  described: RequestDescription<R>,
  options: ProtectOptions<C> | undefined,
): Promise<Authentication<C>> {
  try {
    const { client, tokenResolver, certificateResolver } = protector;
    const { request } = described;
    const clientCertificate = certificateResolver
      ? ((await settled(certificateResolver(request), client, 'certificateResolver')) ?? undefined)
      : undefined;
    const resolved: unknown = tokenResolver ? await settled(tokenResolver(request), client, 'tokenResolver') : undefined;
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
      for (const check of options?.checks ?? []) await settled(check.verify(claims), client, 'A claim check');
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
    for (const check of options?.checks ?? []) await settled(check.verify(claims), client, 'A claim check');
    return { claims };
  } catch (error) {
    return refused(protector.client, error, options, protector.challenges);
  }
}
