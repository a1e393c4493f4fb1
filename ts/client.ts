import { MonoCloudTokenError, MonoCloudValidationError } from './errors.js';
import { introspectionAdapter } from './native/callbacks.js';
import {
  callVerifier,
  collectEnv,
  createNative,
  NativeClient,
  type NativeRequest,
  type RequestVerifiers,
  stepUpOf,
  toError,
  unwrap,
  usage,
  type Verdict,
  verdictPromise,
} from './native/index.js';
import type {
  AccessTokenClaims,
  IntrospectOptions,
  IssuerMetadata,
  Jwks,
  JwtClaims,
  MonoCloudBackendNodeClientOptions,
  MonoCloudOidcBackendClientOptions,
  Revocation,
  ValidateAccessTokenOptions,
  ValidateJwtAccessTokenOptions,
  ValidateRequestInput,
} from './types.js';
import { checkBooleanArgument, checkCallOptions, checkNumberArgument } from './options/arguments.js';
import { CLIENT_OPTION_NAMES, OIDC_OPTION_NAMES, warnUnknownOptions } from './options/names.js';

// The native client behind each instance. Kept off the object so it is neither enumerable
// nor part of the public type.
const natives = new WeakMap<MonoCloudOidcBackendClient, NativeClient>();
// The per-request function of each MonoCloudBackendNodeClient (see verifyRequest).
const verifiers = new WeakMap<MonoCloudBackendNodeClient, RequestVerifiers>();
// Whether protectApi warns the process about each client's 500 and 503 answers.
const warnings = new WeakMap<MonoCloudBackendNodeClient, boolean>();
// Lets a subclass hand its own native client to the base constructor.
const PREBUILT = Symbol('prebuilt native client');

function nativeOf(client: MonoCloudOidcBackendClient): NativeClient {
  const native = natives.get(client);
  if (!native) throw new TypeError('Not a MonoCloud client instance');
  return native;
}

/**
 * The one native call of a request: a token verified before is answered at once (claims text or
 * a failure), anything else as a promise; `undefined` when the request's `Authorization` value
 * holds no bearer token. The protect core uses it to skip promises on cache hits.
 */
export function verifyRequest(client: MonoCloudBackendNodeClient, request: NativeRequest): Verdict | undefined {
  const verifier = verifiers.get(client);
  if (!verifier) throw new TypeError('Not a MonoCloud client instance');
  return callVerifier(verifier, request);
}

/**
 * Whether `protectApi` warns the process about `client`'s 500 and 503 answers: `warnings` (or
 * `MONOCLOUD_BACKEND_WARNINGS`) is not false and no `onEvent` hook listens instead. A client
 * that is not ours (a test double) is never warned about.
 */
export function warnsFor(client: MonoCloudBackendNodeClient): boolean {
  return warnings.get(client) === true;
}

/** `responseTimeout` in milliseconds as the client resolved it; `undefined` for a client not ours. */
export function responseTimeoutOf(client: MonoCloudBackendNodeClient): number | undefined {
  return natives.get(client)?.responseTimeout ?? undefined;
}

function tokenArgument(token: unknown): string | undefined {
  return typeof token === 'string' ? token : undefined;
}

/**
 * Validates access tokens of one issuer and audience: JWTs locally against the issuer's key set.
 * Configured positionally, without environment variables.
 */
export class MonoCloudOidcBackendClient {
  constructor(tenantDomain: string, audience: string, options?: MonoCloudOidcBackendClientOptions) {
    const prebuilt = (tenantDomain as unknown) === PREBUILT;
    if (!prebuilt) warnUnknownOptions(options, OIDC_OPTION_NAMES, 'new MonoCloudOidcBackendClient()');
    const native = prebuilt
      ? (audience as unknown as NativeClient)
      : createNative('oidc', { ...options, tenantDomain, audience }, {});
    natives.set(this, native);
  }

  /** Verifies a JWT access token's signature and claims, then the requested scopes and groups. */
  async validateJwtAccessToken<T extends JwtClaims = AccessTokenClaims>(
    accessToken: string,
    options?: ValidateJwtAccessTokenOptions,
  ): Promise<T> {
    checkCallOptions(options, 'validateJwtAccessToken', { binding: true });
    const { jwks, ...rest } = options ?? {};
    const answer = await nativeOf(this).validateJwtAccessToken(
      tokenArgument(accessToken),
      { ...rest, jwks: jwks === undefined ? undefined : JSON.stringify(jwks) },
      Date.now(),
    );
    return unwrap<T>(answer);
  }

  /**
   * Asks the issuer's introspection endpoint (RFC 7662) about a token, then checks its claims,
   * scopes, groups and, if asked, certificate binding. Needs `clientId` (and the credentials of
   * `clientAuthMethod`).
   */
  async introspectAccessToken<T extends JwtClaims = AccessTokenClaims>(
    accessToken: string,
    options?: IntrospectOptions,
  ): Promise<T> {
    checkCallOptions(options, 'introspectAccessToken', { binding: true });
    return unwrap<T>(await nativeOf(this).introspectAccessToken(tokenArgument(accessToken), options, Date.now()));
  }

  /** Seconds added to the current time when checking `exp` and `nbf`. */
  setClockSkew(clockSkew: number): void {
    // A MonoCloudValidationError, as the setter's other refusals are.
    usage(() => {
      checkNumberArgument(clockSkew, 'setClockSkew(clockSkew): clockSkew');
      nativeOf(this).setClockSkew(clockSkew);
    });
  }

  /** Seconds of grace on `exp` and `nbf`. */
  setClockTolerance(clockTolerance: number): void {
    usage(() => {
      checkNumberArgument(clockTolerance, 'setClockTolerance(clockTolerance): clockTolerance');
      nativeOf(this).setClockTolerance(clockTolerance);
    });
  }

  /** The issuer's discovery document (cached; `forceRefresh` fetches it again). */
  async getMetadata(forceRefresh = false): Promise<IssuerMetadata> {
    checkBooleanArgument(forceRefresh, 'getMetadata(forceRefresh): forceRefresh');
    return unwrap<IssuerMetadata>(await nativeOf(this).getMetadata(forceRefresh, Date.now()));
  }

  /** The issuer's key set (cached; `forceRefresh` fetches it again). */
  async getJwks(forceRefresh = false): Promise<Jwks> {
    checkBooleanArgument(forceRefresh, 'getJwks(forceRefresh): forceRefresh');
    return unwrap<Jwks>(await nativeOf(this).getJwks(forceRefresh, Date.now()));
  }

  /** The payload of a JWT, without verifying anything. */
  static decodeJwt<T = JwtClaims>(jwt: string): T {
    return unwrap<T>(NativeClient.decodeJwt(typeof jwt === 'string' ? jwt : ''));
  }
}

/**
 * The client `protectApi()` uses: configured from options over `MONOCLOUD_BACKEND_*` environment
 * variables, validating JWTs locally and opaque tokens by introspection.
 */
export class MonoCloudBackendNodeClient extends MonoCloudOidcBackendClient {
  constructor(options?: Partial<MonoCloudBackendNodeClientOptions>) {
    warnUnknownOptions(options, CLIENT_OPTION_NAMES, 'new MonoCloudBackendNodeClient()');
    const native = createNative('node', options, collectEnv());
    super(PREBUILT as unknown as string, native as unknown as string);
    verifiers.set(this, native.requestVerifiers());
    const onEvent = typeof options === 'object' && options !== null ? options.onEvent : undefined;
    warnings.set(this, native.warnings && typeof onEvent !== 'function');
  }

  /**
   * Validates an access token and returns its claims: a JWT against the issuer's keys, anything
   * else by introspection. Rejects with `MonoCloudTokenError` (and its `code`) when the token is
   * not acceptable, `MonoCloudValidationError` for configuration problems and
   * `MonoCloudHttpError`/`MonoCloudOPError` when the issuer fails.
   */
  validateAccessToken<T extends JwtClaims = AccessTokenClaims>(
    accessToken: string,
    options?: ValidateAccessTokenOptions,
  ): Promise<T> {
    if (this.validateJwtAccessToken !== ownValidateJwt || this.introspectAccessToken !== ownIntrospect) {
      return validateThroughObject<T>(this, accessToken, options);
    }
    // Not `async`: a token verified before is answered without waiting on anything, and this
    // is the hot path of every protected request.
    try {
      checkCallOptions(options, 'validateAccessToken');
      const verdict = verifyRequest(this, {
        token: tokenArgument(accessToken),
        scopes: options?.scopes,
        groups: options?.groups,
        clientCertificate: options?.clientCertificate,
        now: Date.now(),
        ...stepUpOf(options),
      });
      // Without an Authorization value there is always a verdict.
      return verdictPromise<T>(verdict as Verdict);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The URL of this resource's metadata document (RFC 9728 §3.1), when `protectedResource` is
   * configured: what every challenge points to in `resource_metadata`.
   */
  getProtectedResourceMetadataUrl(): string | undefined {
    return protectedResourceOf(this)?.url;
  }

  /**
   * Refuses a token, every token with a `jti`, or a subject's tokens issued so far, from now on:
   * on this instance at once (its caches drop the token), and with a `store` on every instance
   * of the fleet within a second. Resolves to whether the fleet was told (`false` without a
   * store, or when the store could not be reached: then an `onEvent` `store_error` says so).
   */
  async revoke(revocation: Revocation): Promise<{ shared: boolean }> {
    const given = (revocation ?? {}) as Partial<Record<'token' | 'jti' | 'sub', unknown>> & { expiresAt?: unknown };
    const kinds = (['token', 'jti', 'sub'] as const).filter((kind) => given[kind] !== undefined);
    const kind = kinds[0];
    const value = kind === undefined ? undefined : given[kind];
    if (kinds.length !== 1 || kind === undefined || typeof value !== 'string' || value === '') {
      throw new MonoCloudValidationError('revoke takes one of { token }, { jti } or { sub }, a string that is not empty');
    }
    const expiresAt = given.expiresAt;
    if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
      throw new MonoCloudValidationError('revoke: expiresAt must be seconds since the epoch');
    }
    const answer = await nativeOf(this).revoke(kind, value, expiresAt);
    if (typeof answer !== 'boolean') throw toError(answer);
    return { shared: answer };
  }

  /**
   * Validates the access token of a whole request, framework-free: its `Authorization` header
   * (`Bearer` or `DPoP`), its `DPoP` proof against the method and URL, and the route's scopes and
   * groups. Resolves to the claims; rejects like `validateAccessToken`, and a refused request's
   * `MonoCloudTokenError` carries the `status` and `headers` to answer with (a request without
   * any token too: 401 with `WWW-Authenticate: Bearer`).
   */
  validateRequest<T extends JwtClaims = AccessTokenClaims>(
    request: ValidateRequestInput,
    options?: Pick<ValidateAccessTokenOptions, 'scopes' | 'groups' | 'acrValues' | 'maxAge'>,
  ): Promise<T> {
    try {
      const { authorization, dpop } = requestHeaders(request.headers);
      if (authorization === undefined || authorization === null || authorization === '') {
        return Promise.reject(noTokenError(this));
      }
      if (typeof authorization !== 'string') throw new MonoCloudTokenError('The Authorization header must be a string');
      const native: NativeRequest = {
        authorization,
        scopes: options?.scopes,
        groups: options?.groups,
        clientCertificate: request.clientCertificate,
        now: Date.now(),
        ...stepUpOf(options),
      };
      if (dpop !== undefined) {
        native.dpop = dpop;
        native.method = request.method;
        native.url = request.url;
      }
      const verdict = verifyRequest(this, native);
      if (verdict === undefined) return Promise.reject(noTokenError(this));
      if (native.acrValues === undefined && native.maxAge === undefined) return verdictPromise<T>(verdict);
      return verdictPromise<T>(verdict).catch((error: unknown) => {
        // A step-up refusal's answer names what the route asks for (RFC 9470 §3).
        if (error instanceof MonoCloudTokenError && error.code === 'insufficient_user_authentication') {
          error.status = 401;
          error.headers = { 'WWW-Authenticate': challengeWriterOf(this)?.write('insufficient_user_authentication', native) ?? '' };
        }
        throw error;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** A request's `Authorization` and `DPoP` headers, from a plain object or a `Headers`. */
function requestHeaders(headers: ValidateRequestInput['headers']): {
  authorization: unknown;
  dpop: string | string[] | undefined;
} {
  if (typeof Headers === 'function' && headers instanceof Headers) {
    // `get` joins repeated values with ", ", which the DPoP checks refuse as two proofs.
    return { authorization: headers.get('authorization') ?? undefined, dpop: headers.get('dpop') ?? undefined };
  }
  let authorization: unknown;
  let dpop: string | string[] | undefined;
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    // Node keeps the first of repeated Authorization headers; so does this.
    if (lower === 'authorization') authorization = Array.isArray(value) ? value[0] : value;
    else if (lower === 'dpop' && value !== undefined) dpop = value;
  }
  return { authorization, dpop };
}

/**
 * The `WWW-Authenticate` challenge of a request without any token: `Bearer`, or DPoP's when the
 * client requires DPoP. `undefined` for a client that is not one of ours.
 */
export function noTokenChallenge(client: MonoCloudOidcBackendClient): string | undefined {
  const native = natives.get(client);
  return native ? (native.noTokenChallenge ?? 'Bearer') : undefined;
}

/** The protected resource metadata of `client` (RFC 9728): its URL, path and JSON text. */
export function protectedResourceOf(client: MonoCloudOidcBackendClient): { url: string; path: string; document: string } | undefined {
  return natives.get(client)?.protectedResource ?? undefined;
}

/** What a Bearer challenge names of the route: the scopes it needs, its step-up requirements. */
export interface ChallengeRoute {
  scopes?: string[] | undefined;
  acrValues?: string[] | undefined;
  maxAge?: number | undefined;
}

/** Writes a client's `Bearer` challenges, short or complete (src/core/challenge.rs). */
export interface ChallengeWriter {
  /** Whether the `challenge` option asks for the complete form. */
  full: boolean;
  write(error: string, route?: ChallengeRoute): string;
}

/** The challenge writer of `client`; `undefined` for a client that is not one of ours. */
export function challengeWriterOf(client: MonoCloudOidcBackendClient): ChallengeWriter | undefined {
  const native = natives.get(client);
  if (!native) return undefined;
  return {
    full: native.fullChallenges,
    write: (error, route) => native.bearerChallenge(error, route?.scopes, route?.acrValues, route?.maxAge),
  };
}

/** The refusal of a request that carries no access token, with the answer to send. */
function noTokenError(client: MonoCloudOidcBackendClient): MonoCloudTokenError {
  const error = new MonoCloudTokenError('The request carries no access token', 'invalid_token');
  error.status = 401;
  error.headers = { 'WWW-Authenticate': noTokenChallenge(client) ?? 'Bearer' };
  return error;
}

const ownValidateJwt = MonoCloudOidcBackendClient.prototype.validateJwtAccessToken;
const ownIntrospect = MonoCloudOidcBackendClient.prototype.introspectAccessToken;
const ownValidateAccessToken = MonoCloudBackendNodeClient.prototype.validateAccessToken;

/**
 * Whether `client` replaces one of the methods `validateAccessToken` is made of (a subclass, an
 * instance override, a `jest.spyOn`): then every validation goes through the object, as in the
 * original, instead of the one native call.
 */
export function validatesThroughObject(client: MonoCloudBackendNodeClient): boolean {
  return (
    client.validateAccessToken !== ownValidateAccessToken ||
    client.validateJwtAccessToken !== ownValidateJwt ||
    client.introspectAccessToken !== ownIntrospect
  );
}

/**
 * The original's `validateAccessToken`, calling the object's own
 * `validateJwtAccessToken` or `introspectAccessToken`; which way a token goes, the cache around
 * introspection and the checks after it are decided in Rust (src/napi/through.rs).
 */
async function validateThroughObject<T extends JwtClaims>(
  client: MonoCloudBackendNodeClient,
  accessToken: string,
  options: ValidateAccessTokenOptions | undefined,
): Promise<T> {
  checkCallOptions(options, 'validateAccessToken');
  const native = nativeOf(client);
  const token = tokenArgument(accessToken);
  const route = native.tokenRoute(token);
  if (typeof route !== 'string') throw toError(route);
  if (route === 'jwt') {
    return client.validateJwtAccessToken<T>(accessToken, {
      scopes: options?.scopes,
      groups: options?.groups,
      validateCertificateBinding: native.certificateBinding ?? undefined,
      clientCertificate: options?.clientCertificate,
      ...stepUpOf(options),
    });
  }
  // The object's answer is returned as it is (the original returns the same object); a cached
  // one comes back from Rust.
  const fresh: { claims?: T; answered: boolean } = { answered: false };
  const answer = await native.introspectThrough(
    token as string,
    {
      scopes: options?.scopes,
      groups: options?.groups,
      clientCertificate: options?.clientCertificate,
      ...stepUpOf(options),
    },
    introspectionAdapter(async () => {
      const claims = await client.introspectAccessToken<T>(accessToken);
      fresh.claims = claims;
      fresh.answered = true;
      return claims;
    }),
    Date.now(),
  );
  if (typeof answer !== 'string') throw toError(answer);
  return fresh.answered ? (fresh.claims as T) : (JSON.parse(answer) as T);
}

