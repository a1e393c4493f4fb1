/** Why a token was refused. */
export type MonoCloudTokenErrorCode =
  | 'invalid_token'
  | 'inactive_token'
  | 'insufficient_scope'
  | 'insufficient_groups'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_request'
  | 'insufficient_user_authentication';

export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'spiffe_jwt'
  | 'spiffe_x509';

/**
 * When to require that a token is bound to the client certificate (RFC 8705):
 * `when_present` if the token carries `cnf.x5t#S256`, `required` always, `dangerously_ignore` never.
 */
export type CertificateBindingValidation = 'when_present' | 'required' | 'dangerously_ignore';

/** An authorization server's answer, kept on errors about it. */
export interface MonoCloudRawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

export interface JwtClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  [claim: string]: unknown;
}

export interface AccessTokenClaims extends JwtClaims {
  scope?: string;
  client_id?: string;
  jti?: string;
}

export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  [member: string]: unknown;
}

export interface Jwks {
  keys: Jwk[];
}

export interface JwsHeaderParameters {
  alg?: string;
  kid?: string;
  typ?: string;
  [parameter: string]: unknown;
}

export interface MtlsEndpointAliases {
  token_endpoint?: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  device_authorization_endpoint?: string;
  pushed_authorization_request_endpoint?: string;
}

export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  token_endpoint?: string;
  mtls_endpoint_aliases?: MtlsEndpointAliases;
  mtls_additional_endpoint_aliases?: Record<string, MtlsEndpointAliases>;
  tls_client_certificate_bound_access_tokens?: boolean;
  [member: string]: unknown;
}

export interface IsUserInGroupOptions {
  /** The claim holding the user's groups. Default `groups`. */
  groupsClaim?: string;
  /** Require every listed group rather than any. Default `false`. */
  matchAll?: boolean;
}

/** Step-up authentication (RFC 9470): what a call asks of the user's authentication. */
export interface StepUpOptions {
  /**
   * The token's `acr` (authentication context class) must be one of these; otherwise
   * `insufficient_user_authentication` (401 with `acr_values` in the challenge).
   */
  acrValues?: string[];
  /**
   * Seconds since the user authenticated (the token's `auth_time`, within `clockTolerance`), at
   * most; otherwise `insufficient_user_authentication` (401 with `max_age` in the challenge).
   */
  maxAge?: number;
}

/** What a call asks of a token besides being valid. */
export interface IntrospectOptions extends StepUpOptions {
  /** Every one of these must be in the token's `scope`. */
  scopes?: string[];
  /** The user must be in these groups (any of them, or all with `groupOptions.matchAll`). */
  groups?: string[];
  /** The client certificate of the request (PEM or base64 DER), for certificate-bound tokens. */
  clientCertificate?: string;
  validateCertificateBinding?: CertificateBindingValidation;
}

export interface ValidateJwtAccessTokenOptions extends IntrospectOptions {
  /** A key set to verify with instead of the issuer's. */
  jwks?: Jwks;
}

export type ValidateAccessTokenOptions = Omit<IntrospectOptions, 'validateCertificateBinding'>;


/** A shared store for introspection results (Redis, Memcached...). Keys are raw tokens. */
export interface IIntrospectionCache {
  get(key: string): Promise<AccessTokenClaims | null | undefined>;
  /** `expiresAt` is in seconds since the epoch; stop returning the entry after it. */
  set(key: string, claims: AccessTokenClaims, expiresAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface MonoCloudOidcBackendClientOptions {
  clientId?: string;
  clientSecret?: string | Jwk;
  clientAuthMethod?: ClientAuthMethod;
  /** Seconds added to the current time when checking `exp` and `nbf`. Default 0. */
  clockSkew?: number;
  /** Seconds of grace on `exp` and `nbf`. Default 60. */
  clockTolerance?: number;
  groupOptions?: IsUserInGroupOptions;
  /** Seconds to keep the key set. Default 300. */
  jwksCacheDuration?: number;
  /** Seconds to keep the discovery document. Default 300. */
  metadataCacheDuration?: number;
  /**
   * Milliseconds an exchange with the issuer may take, body included; it also bounds every
   * user callback on a request's path (`fetcher` and its body, the resolvers, the `cache`
   * adapter, `protectApi`'s token and certificate resolvers, a route's claim checks).
   */
  responseTimeout?: number;
  fetcher?: typeof fetch;
  trustStoreId?: string;
  /** Gives the discovery document instead of fetching it. With `issuers`, it is called with the issuer's URL (as listed). */
  metadataResolver?: (issuer?: string) => IssuerMetadata | Promise<IssuerMetadata>;
  /** Gives the key set instead of fetching it. With `issuers`, it is called with the issuer's URL (as listed). */
  jwksResolver?: (issuer?: string) => Jwks | Promise<Jwks>;
}

export interface MonoCloudBackendNodeClientOptions extends MonoCloudOidcBackendClientOptions {
  /**
   * The tenant URL, e.g. `https://your-tenant.us.monocloud.com`. Env `MONOCLOUD_BACKEND_TENANT_DOMAIN`.
   * Leave it out when `issuers` lists the trusted issuers.
   */
  tenantDomain: string;
  /**
   * Several trusted issuers instead of `tenantDomain` (absolute https URLs; http for loopback
   * hosts): a token's `iss` picks its issuer, each with its own discovery document, key set and
   * caches, and a token naming another issuer is refused without a request. JWTs only: not with
   * `clientId`, `introspectJwtTokens`, `issuer` or `hmacSecret`. Env `MONOCLOUD_BACKEND_ISSUERS`
   * (URLs separated by spaces).
   */
  issuers?: string[];
  /** The API's identifier, the `aud` tokens must carry. Env `MONOCLOUD_BACKEND_AUDIENCE`. */
  audience: string;
  /**
   * The exact `iss` tokens must carry when it is not `tenantDomain` without its trailing slash
   * (e.g. `https://tenant.example.com/`); discovery still starts from `tenantDomain`.
   */
  issuer?: string;
  /** More `aud` values accepted besides `audience`; any one matches. */
  audiences?: string[];
  /**
   * A pinned symmetric mode, with `hmacAlg`: JWTs must be signed with this shared secret; no key
   * set is fetched and public-key tokens are refused.
   */
  hmacSecret?: string;
  /** The one HMAC algorithm of `hmacSecret` tokens. */
  hmacAlg?: 'HS256' | 'HS384' | 'HS512';
  /** Introspect JWTs too instead of validating them locally. Default `false`. */
  introspectJwtTokens?: boolean;
  /** Default `when_present`. */
  validateCertificateBinding?: CertificateBindingValidation;
  /** Seconds to keep introspection results; 0 disables caching. Default 300. */
  introspectionCacheDuration?: number;
  cache?: IIntrospectionCache;
  /**
   * Above 0, turns on a built-in in-memory introspection cache of at most this many results
   * (used when no `cache` is given). Default 0: no built-in cache, every opaque token is
   * introspected. Env `MONOCLOUD_BACKEND_INTROSPECTION_CACHE_MAX_ENTRIES`.
   */
  introspectionCacheMaxEntries?: number;
  /**
   * The TLS client certificate (PEM text or a path to a PEM file) presented on the issuer's mTLS
   * endpoints, for `tls_client_auth`, `self_signed_tls_client_auth` and `spiffe_x509`.
   * Env `MONOCLOUD_BACKEND_TLS_CLIENT_CERTIFICATE`.
   */
  tlsClientCertificate?: string;
  /** The private key of `tlsClientCertificate` (PEM text or path). Env `MONOCLOUD_BACKEND_TLS_CLIENT_KEY`. */
  tlsClientKey?: string;
  /**
   * Verified JWTs kept so a repeated token skips the signature check (its claims, scopes, groups
   * and binding are still checked on every use). 0 turns it off. Default 10000.
   * Env `MONOCLOUD_BACKEND_TOKEN_CACHE_MAX_ENTRIES`.
   */
  tokenCacheMaxEntries?: number;
  /**
   * Seconds past expiry that the last good discovery document and key set keep being used when
   * the issuer cannot provide new ones (retried every 10 s meanwhile). 0 turns it off.
   * Default 300. Env `MONOCLOUD_BACKEND_STALE_IF_ERROR_DURATION`.
   */
  staleIfErrorDuration?: number;
  /**
   * The fleet's shared store, a `redis://` or `rediss://` URL (Redis or Valkey), or a connected
   * client of your own: a node-redis client (`createClient()` from `redis`) or an ioredis client
   * (`new Redis()`). Introspection answers (unless `introspectionCacheDuration` is 0),
   * revocations and DPoP replays are shared by every instance that names it.
   * Env `MONOCLOUD_BACKEND_REDIS_URL` (a URL).
   */
  store?: string | object;
  /** Prefix of every key and channel in `store`. Default `monocloud:`. Env `MONOCLOUD_BACKEND_REDIS_PREFIX`. */
  storePrefix?: string;
  /**
   * Milliseconds a call to `store` may take before its fault rule applies (introspection asks
   * the issuer; revocation checks use what this instance knows). Default 50.
   * Env `MONOCLOUD_BACKEND_REDIS_TIMEOUT`.
   */
  storeTimeout?: number;
  /** Called for every {@link MonoCloudEvent}; never given a token or a secret. */
  onEvent?: (event: MonoCloudEvent) => void;
  /**
   * `at+jwt`: accept only RFC 9068 JWT access tokens, whose `typ` header is `at+jwt` (or
   * `application/at+jwt`). Without it, a JWT without `typ` or with `JWT` is accepted too; any
   * other `typ` is always refused. Env `MONOCLOUD_BACKEND_REQUIRE_TOKEN_TYPE`.
   */
  requireTokenType?: 'at+jwt';
  /**
   * Seconds a JWT access token is accepted after its `iat` (which it must then carry), with
   * `clockTolerance`. Env `MONOCLOUD_BACKEND_MAX_TOKEN_AGE`.
   */
  maxTokenAge?: number;
  /**
   * Complete `WWW-Authenticate` challenges (RFC 6750 §3): given at all (even `{}`), every
   * `insufficient_scope` names the route's `scope`; `realm` is added to every challenge and
   * `describe` (default `true`) adds a fixed `error_description` per error code.
   */
  challenge?: ChallengeOptions;
  /**
   * This API as a protected resource (RFC 9728): its metadata document, `resource_metadata` in
   * every challenge (and the complete challenges), and tokens' `aud` must name `resource`.
   */
  protectedResource?: ProtectedResourceOptions;
  /**
   * `protectApi` reports a 500 or 503 answer caused by the configuration or the issuer with
   * `process.emitWarning` (codes `MONOCLOUD_CONFIG_ERROR`, `MONOCLOUD_ISSUER_ERROR`), at most
   * once a minute per cause. `false` (or `MONOCLOUD_BACKEND_WARNINGS=false`), or an `onEvent`
   * hook, turns it off. Default `true`.
   */
  warnings?: boolean;
  /** Called when a revocation takes effect on this instance, made here or heard from the fleet. */
  onRevoked?: (revocation: { by: 'token' | 'jti' | 'sub'; origin: 'local' | 'fleet' }) => void;
  /** DPoP (RFC 9449): sender-constrained tokens and their proofs. */
  dpop?: DpopOptions;
}

/** The resource this API is (RFC 9728), and what its metadata document says. */
export interface ProtectedResourceOptions {
  /**
   * The resource identifier: an absolute `https` URL (`http` only on loopback hosts) without
   * query or fragment. Tokens' `aud` must name it. Env `MONOCLOUD_BACKEND_RESOURCE`.
   */
  resource: string;
  /** Issuers of tokens for this resource. Default: the tenant. */
  authorizationServers?: string[];
  /** The scopes the resource knows. Env `MONOCLOUD_BACKEND_RESOURCE_SCOPES` (space-separated). */
  scopesSupported?: string[];
  /** How tokens may be sent: `header` (default), `body`, `query`. */
  bearerMethodsSupported?: Array<'header' | 'body' | 'query'>;
  resourceName?: string;
  resourceDocumentation?: string;
  resourcePolicyUri?: string;
  resourceTosUri?: string;
}

export interface ChallengeOptions {
  /** The `realm` of every challenge; no quotes, backslashes or control characters. Env `MONOCLOUD_BACKEND_CHALLENGE_REALM`. */
  realm?: string;
  /** Add a fixed, safe `error_description` per error code. Default `true`. Env `MONOCLOUD_BACKEND_CHALLENGE_DESCRIBE`. */
  describe?: boolean;
}

/**
 * Shared replay protection for DPoP proofs (Redis `SET key 1 NX PXAT expiresAt`, say).
 * `reserve` answers `true` when the key was free (and is now taken until `expiresAt`, in
 * milliseconds since the epoch), `false` when it was already reserved. A store that throws or
 * does not answer within `responseTimeout` makes the request 503.
 */
export interface DpopReplayStore {
  reserve(key: string, expiresAt: number): boolean | Promise<boolean>;
}

export interface DpopOptions {
  /**
   * `allowed` (default): Bearer and DPoP, and a DPoP-bound token needs its proof. `required`:
   * DPoP only. `disabled`: the original's behaviour. Env `MONOCLOUD_BACKEND_DPOP_MODE`.
   */
  mode?: 'allowed' | 'required' | 'disabled';
  /** Proof algorithms accepted; `none` and HMAC are refused. Env `MONOCLOUD_BACKEND_DPOP_ALGORITHMS` (space-separated). */
  algorithms?: string[];
  /** Seconds a proof's `iat` may lie in the past. Default 300. Env `MONOCLOUD_BACKEND_DPOP_IAT_OFFSET`. */
  iatOffset?: number;
  /** Seconds a proof's `iat` may lie in the future. Default 30. Env `MONOCLOUD_BACKEND_DPOP_IAT_LEEWAY`. */
  iatLeeway?: number;
  /**
   * At least 32 bytes; when set, proofs must carry a server nonce. Nonces are stateless, so
   * every instance sharing the secret accepts them. Env `MONOCLOUD_BACKEND_DPOP_NONCE_SECRET`.
   */
  nonceSecret?: string;
  /** Seconds a nonce is accepted. Default 300. Env `MONOCLOUD_BACKEND_DPOP_NONCE_LIFETIME`. */
  nonceLifetime?: number;
  /**
   * Built-in in-memory store by default, or the client's `store` (Redis/Valkey) when it has one;
   * `false` turns replay checks off.
   */
  replayStore?: false | DpopReplayStore;
  /**
   * When the shared `store` cannot reserve a proof within `storeTimeout`: `reject` (default,
   * the request is answered 503) or `allow` (the proof passes unreserved, and `onEvent` hears a
   * `store_error`). Env `MONOCLOUD_BACKEND_DPOP_ON_STORE_ERROR`.
   */
  onStoreError?: 'reject' | 'allow';
  /**
   * The public origin (and base path) clients address, to check a proof's `htu` behind a
   * proxy. Env `MONOCLOUD_BACKEND_PUBLIC_URL`.
   */
  publicUrl?: string;
}

/** A request as `validateRequest` takes it, in no framework's terms. */
export interface ValidateRequestInput {
  method: string;
  /** The absolute URL the client addressed (or its path, with `dpop.publicUrl`). */
  url: string;
  /** The request's headers: a plain object (Node's form) or a `Headers`. */
  headers: Headers | Record<string, string | string[] | undefined>;
  clientCertificate?: string;
}

/** What `client.revoke()` refuses from now on: one token, every token with a `jti`, or a subject's tokens issued so far. */
export type Revocation = ({ token: string } | { jti: string } | { sub: string }) & {
  /** Seconds since the epoch the revocation lasts until; default the JWT's `exp`, else a day. */
  expiresAt?: number;
};

/** What a client reports to `onEvent`, for logs, metrics and alerts. */
export type MonoCloudEvent =
  | {
      type: 'token_rejected';
      /** The error class the caller receives. */
      error: 'MonoCloudTokenError' | 'MonoCloudValidationError' | 'MonoCloudOPError' | 'MonoCloudHttpError' | 'Error';
      code: MonoCloudTokenErrorCode | null;
      message: string;
    }
  | { type: 'cache_hit' | 'cache_miss'; cache: 'token' | 'introspection' }
  | { type: 'metadata_fetched' }
  | { type: 'jwks_fetched'; keys: number }
  | {
      type: 'issuer_error';
      resource: 'metadata' | 'jwks' | 'introspection';
      error: string;
      message: string;
      status: number | null;
    }
  | { type: 'stale_served'; resource: 'metadata' | 'jwks'; staleForSeconds: number }
  | {
      /**
       * A request refused because of the configuration, not its token alone:
       * `introspection_not_configured` is a token that is not a JWT on a client without
       * `clientId` (`protectApi` answers it 401 `invalid_token`).
       */
      type: 'configuration_hint';
      code: 'introspection_not_configured';
      message: string;
    }
  | {
      type: 'store_error';
      operation: 'introspection_get' | 'introspection_set' | 'revoke' | 'revocations' | 'dpop_reserve';
      message: string;
    }
  | { type: 'revoked'; by: 'token' | 'jti' | 'sub'; origin: 'local' | 'fleet' };
