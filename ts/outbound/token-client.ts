// The outbound token client: client-credentials tokens for calling other APIs. Caching,
// refreshing, single flight and retries live in Rust (src/outbound/); this face converts
// options, calls user callbacks and wraps `fetch`.
import { MonoCloudValidationError } from '../errors.js';
import { callbacksFor } from '../native/callbacks.js';
import { collectEnv, unwrap, usage } from '../native/index.js';
import { cacheDeleteAdapter, NativeTokenClient } from '../native/token-client.js';
import type { MonoCloudBackendNodeClientOptions } from '../types.js';
import type { AccessTokenResult, GetAccessTokenOptions, MonoCloudTokenClientOptions } from './types.js';

interface NativeTokenOptions {
  scopes?: string[];
  resource?: string[];
  audience?: string;
}

const natives = new WeakMap<MonoCloudTokenClient, NativeTokenClient>();
// Lets the compatibility surfaces build a client without reading MONOCLOUD_BACKEND_* variables.
const WITH_ENV = Symbol('token client environment');

function nativeOf(client: MonoCloudTokenClient): NativeTokenClient {
  const native = natives.get(client);
  if (!native) throw new TypeError('Not a MonoCloudTokenClient instance');
  return native;
}

function list(value: unknown, name: string, split: boolean): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return split ? value.split(' ').filter(Boolean) : [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  throw new MonoCloudValidationError(`"${name}" must be a string or an array of strings`);
}

function nativeOptions(options: GetAccessTokenOptions | undefined): NativeTokenOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new MonoCloudValidationError('The token options must be an object');
  const { audience } = options;
  if (audience !== undefined && typeof audience !== 'string') {
    throw new MonoCloudValidationError('"audience" must be a string');
  }
  const scopes = list(options.scopes, 'scopes', true);
  const resource = list(options.resource, 'resource', false);
  return {
    ...(scopes ? { scopes } : {}),
    ...(resource ? { resource } : {}),
    ...(audience ? { audience } : {}),
  };
}

/** `Bearer` in any case is a bearer token (RFC 6750 §4 compares it case-insensitively). */
function bearerAuthorization(token: AccessTokenResult): string {
  if (token.tokenType.toLowerCase() !== 'bearer') {
    // DPoP-bound outbound tokens need a proof per request, which this client does not make yet.
    throw new MonoCloudValidationError(`fetch() sends Bearer tokens only; the issuer gave a ${token.tokenType} token`);
  }
  return `Bearer ${token.accessToken}`;
}

/** A 401 whose `WWW-Authenticate` says the token itself was refused (RFC 6750 §3.1). */
function refusedToken(response: Response): boolean {
  if (response.status !== 401) return false;
  const challenge = response.headers.get('www-authenticate') ?? '';
  return /(^|[\s,])error\s*=\s*"?invalid_token"?/i.test(challenge);
}

/** A body that can be sent a second time as it is. */
function replayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/**
 * Client-credentials access tokens for calling other APIs, configured like
 * `MonoCloudBackendNodeClient` (options over the same `MONOCLOUD_BACKEND_*` variables).
 * Tokens are cached per scopes, resource and audience, refreshed in the background before they
 * expire, and fetched once for any number of concurrent callers.
 */
export class MonoCloudTokenClient {
  constructor(options?: MonoCloudTokenClientOptions) {
    const env = (options as { [WITH_ENV]?: Record<string, string> } | undefined)?.[WITH_ENV] ?? collectEnv();
    const callbacks: Record<string, unknown> = {
      ...callbacksFor(options as Partial<MonoCloudBackendNodeClientOptions> | undefined),
    };
    const cache = options?.cache;
    if (cache && typeof cache === 'object' && typeof cache.delete === 'function') {
      callbacks.cacheDelete = cacheDeleteAdapter((key) => cache.delete(key));
    }
    natives.set(
      this,
      usage(() => new NativeTokenClient(options ?? undefined, env, callbacks)),
    );
  }

  /**
   * A valid access token: the cached one, or a new one from the token endpoint. Throws
   * `MonoCloudOPError` when the issuer refuses (`invalid_client`, `invalid_scope`...) and
   * `MonoCloudHttpError` when it cannot be reached after the retries.
   */
  async getAccessToken(options?: GetAccessTokenOptions): Promise<AccessTokenResult> {
    const native = nativeOf(this);
    const request = nativeOptions(options);
    const now = Date.now();
    // A token that is neither expired nor due is answered without a trip through the runtime.
    const answer = native.freshAccessToken(request, now) ?? (await native.getAccessToken(request, now));
    const token = unwrap<AccessTokenResult & { scope: string | null }>(answer);
    return { ...token, scope: token.scope ?? undefined };
  }

  /**
   * `fetch` with an access token attached as `Authorization: Bearer`. When the API answers 401
   * with `error="invalid_token"`, the token is dropped (here and in a shared cache) and the
   * request is sent once more with a new one, if its body can be sent again.
   */
  async fetch(input: string | URL | Request, init?: RequestInit, tokenOptions?: GetAccessTokenOptions): Promise<Response> {
    const request = nativeOptions(tokenOptions);
    // A Request's body is read by the first send: keep a copy for the retry.
    const spare = input instanceof Request ? input.clone() : undefined;
    const send = async (target: string | URL | Request): Promise<{ response: Response; token: AccessTokenResult }> => {
      const token = await this.getAccessToken(tokenOptions);
      const headers = new Headers(target instanceof Request ? target.headers : undefined);
      new Headers(init?.headers).forEach((value, name) => headers.set(name, value));
      headers.set('authorization', bearerAuthorization(token));
      return { response: await fetch(target, { ...init, headers }), token };
    };
    const first = await send(input);
    if (!refusedToken(first.response) || !replayable(init?.body)) return first.response;
    await nativeOf(this).invalidate(first.token.accessToken, request);
    await first.response.body?.cancel().catch(() => undefined);
    return (await send(spare ?? input)).response;
  }
}

/** A token client over `options` and `env` only (no `MONOCLOUD_BACKEND_*` variables). */
export function tokenClientWithEnv(
  options: MonoCloudTokenClientOptions,
  env: Record<string, string>,
): MonoCloudTokenClient {
  return new MonoCloudTokenClient({ ...options, [WITH_ENV]: env } as MonoCloudTokenClientOptions);
}
