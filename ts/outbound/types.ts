import type { ClientAuthMethod, Jwk } from '../types.js';

/** A token as `getAccessToken` answers it. */
export interface AccessTokenResult {
  accessToken: string;
  /** As the issuer wrote it: usually `Bearer`, and always `DPoP` with the `dpop` option. */
  tokenType: string;
  /**
   * Milliseconds since the epoch (compare with `Date.now()`). When the issuer gave no
   * `expires_in`, the end of the 60 seconds the client keeps such a token.
   */
  expiresAt: number;
  /** The granted scope, when the issuer said. */
  scope: string | undefined;
}

/** What a token is for; one cached token per distinct combination. */
export interface GetAccessTokenOptions {
  /** Scopes to ask for, as a list or space-separated. Their order does not matter. */
  scopes?: string[] | string;
  /** RFC 8707 resource indicators (absolute URIs). */
  resource?: string | string[];
  /** The `audience` parameter of issuers that take one instead of `resource`. */
  audience?: string;
}

/**
 * A cache shared by several instances (Redis, Memcached...), so a fleet asks the issuer once
 * per token. The same shape as the introspection cache; values are JSON objects holding a token.
 */
export interface ITokenCache {
  get(key: string): Promise<unknown>;
  /** `expiresAt` is in seconds since the epoch; stop returning the entry after it. */
  set(key: string, value: unknown, expiresAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface MonoCloudTokenClientOptions {
  /** The tenant's URL. Env `MONOCLOUD_BACKEND_TENANT_DOMAIN`. */
  tenantDomain?: string;
  /** Env `MONOCLOUD_BACKEND_CLIENT_ID`. */
  clientId?: string;
  /** A shared secret or JWT-SVID; for `private_key_jwt` a private JWK. Env `MONOCLOUD_BACKEND_CLIENT_SECRET`. */
  clientSecret?: string | Jwk;
  /** Default `client_secret_post`. Env `MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD`. */
  clientAuthMethod?: ClientAuthMethod;
  /** Picks `mtls_additional_endpoint_aliases[id]`. Env `MONOCLOUD_BACKEND_TRUST_STORE_ID`. */
  trustStoreId?: string;
  /** PEM text or file, for the mTLS methods. Env `MONOCLOUD_BACKEND_TLS_CLIENT_CERTIFICATE`. */
  tlsClientCertificate?: string;
  /** PEM text or file. Env `MONOCLOUD_BACKEND_TLS_CLIENT_KEY`. */
  tlsClientKey?: string;
  /** Milliseconds one exchange with the issuer may take. Default 10000. */
  responseTimeout?: number;
  /** Seconds the discovery document is kept. Default 300. */
  metadataCacheDuration?: number;
  /** Seconds past expiry the last good discovery document serves while the issuer fails. Default 300. */
  staleIfErrorDuration?: number;
  /**
   * Seconds before expiry that a token is refreshed in the background, never earlier than half
   * its lifetime. Default 60. Env `MONOCLOUD_BACKEND_TOKEN_REFRESH_SKEW`.
   */
  refreshSkew?: number;
  /**
   * Retries of a token request that failed transiently (no answer, 408, 429, 5xx), at most 10,
   * all within 30 seconds. Default 3. Env `MONOCLOUD_BACKEND_TOKEN_REQUEST_RETRIES`.
   */
  retries?: number;
  /** Makes the exchanges with the issuer instead of the built-in HTTP client. */
  fetcher?: typeof fetch;
  /** Gives the discovery document instead of fetching it. */
  metadataResolver?: () => Promise<Record<string, unknown>>;
  /** A cache shared by a fleet; off by default (each instance keeps its tokens in memory). */
  cache?: ITokenCache;
  /**
   * The fleet's shared store, a `redis://` or `rediss://` URL or a connected node-redis or
   * ioredis client (used when no `cache` is given): one instance asks the issuer for a token
   * while the others wait for it (a short lock), then read it. Env `MONOCLOUD_BACKEND_REDIS_URL`.
   */
  store?: string | object;
  /** Prefix of the store's keys. Default `monocloud:`. Env `MONOCLOUD_BACKEND_REDIS_PREFIX`. */
  storePrefix?: string;
  /** Milliseconds a store call may take; then the issuer is asked. Default 50. Env `MONOCLOUD_BACKEND_REDIS_TIMEOUT`. */
  storeTimeout?: number;
  /**
   * DPoP-bound tokens (RFC 9449): `true` (or `{}`) generates an ES256 key for this client, in
   * memory; `{ key }` signs with your private JWK (an object or its JSON text, with an `alg` of
   * ES256-512, PS256-512, RS256-512 or EdDSA), so that several instances can share bound
   * tokens through `cache` or `store`. Every token request then carries a proof, the issuer
   * must answer `token_type: "DPoP"` (a Bearer answer is a `MonoCloudHttpError`), and
   * `fetch` / `getAuthorizationHeaders` send `Authorization: DPoP` with a proof per request.
   * Not read from the environment. Default off.
   */
  dpop?: boolean | { key?: Jwk | string };
  /** Hears fetches, refreshes and failures; never given a token or a secret. */
  onEvent?: (event: MonoCloudTokenEvent) => void;
}

interface TokenEventBase {
  scopes: string[];
  resources: string[];
  audience: string | null;
}

/** What the token client reports to `onEvent`. */
export type MonoCloudTokenEvent =
  | (TokenEventBase & { type: 'token_fetched'; source: 'issuer' | 'shared_cache'; expiresAt: number })
  | (TokenEventBase & {
      type: 'token_refreshed';
      source: 'issuer' | 'shared_cache';
      expiresAt: number;
      /** Whether callers went on with the old token meanwhile. */
      background: boolean;
    })
  | (TokenEventBase & {
      type: 'token_error';
      error: 'MonoCloudValidationError' | 'MonoCloudOPError' | 'MonoCloudHttpError' | 'MonoCloudTokenError' | 'Error';
      /** The OAuth error (`invalid_client`...), for `MonoCloudOPError`. */
      code: string | null;
      message: string;
      status: number | null;
      /** 1 for the first try. */
      attempt: number;
      retrying: boolean;
      during: 'token_request' | 'background_refresh' | 'shared_cache';
    })
  | { type: 'metadata_fetched' }
  | { type: 'issuer_error'; resource: 'metadata'; error: string; message: string; status: number | null }
  | { type: 'stale_served'; resource: 'metadata'; staleForSeconds: number }
  | {
      type: 'store_error';
      operation: 'token_get' | 'token_set' | 'token_delete' | 'token_lock' | 'token_unlock';
      message: string;
    };
