import type { ClientAuthMethod } from '../types.js';

/**
 * The verified claims of a session's access token, as `req.user` holds them: `sub` and the
 * standard claims of RFC 9068 and OpenID Connect, plus whatever else the token carries.
 */
export interface IntelliAuthUser {
  sub: string;
  iss: string;
  aud: string | string[];
  exp: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  scope?: string;
  client_id?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  preferred_username?: string;
  picture?: string;
  phone_number?: string;
  groups?: string[];
  roles?: string[];
  [claim: string]: unknown;
}

export interface RequireSessionOptions {
  /** The tenant's URL (`https://` is added when it has no scheme). */
  tenantUrl: string;
  /** The identifier tokens for this API carry in `aud`: any non-empty string, a URI or not. */
  audience: string;
  /**
   * Ask the tenant's introspection endpoint about every token, so a revoked token is refused at
   * once; needs `clientId` (and `clientSecret`). Costs one round trip to the tenant per request.
   * Default `false`: JWTs are verified locally and stay valid until they expire.
   */
  checkRevocation?: boolean;
  /** The client that introspects, for `checkRevocation` and opaque tokens. */
  clientId?: string;
  clientSecret?: string;
  /** Default `client_secret_basic`. */
  clientAuthMethod?: ClientAuthMethod;
}

export interface ManagementClientOptions {
  /** The tenant's URL (`https://` is added when it has no scheme). */
  tenantUrl: string;
  /** The machine-to-machine client's id. */
  clientId: string;
  clientSecret: string;
  /**
   * Where the management REST API lives: `fetch(path)` and the helpers resolve under it. The
   * vendor's paths are not documented in the seed guide; check them against the vendor. Env
   * `INTELLIAUTH_MANAGEMENT_API_BASE`.
   */
  managementApiBase?: string;
  /** Default `client_secret_basic`. */
  clientAuthMethod?: ClientAuthMethod;
  /** Scopes the management token is asked for. */
  scopes?: string[] | string;
  /** RFC 8707 resource indicator of the management API. */
  resource?: string;
  /** The `audience` parameter, for tenants that take one. */
  audience?: string;
  /** Seconds before expiry that the token is refreshed in the background. Default 60. */
  refreshSkew?: number;
}

export interface ListApplicationsOptions {
  limit?: number;
}
