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

/** A 401 whose `WWW-Authenticate` says the token itself was refused (RFC 6750 §3.1). */
function refusedToken(response: Response): boolean {
  if (response.status !== 401) return false;
  const challenge = response.headers.get('www-authenticate') ?? '';
  return /(^|[\s,])error\s*=\s*"?invalid_token"?/i.test(challenge);
}

/** A 401 asking for a DPoP nonce, with the nonce to use (RFC 9449 §9). */
function nonceChallenge(response: Response): string | undefined {
  if (response.status !== 401) return undefined;
  const challenge = response.headers.get('www-authenticate') ?? '';
  if (!/(^|[\s,])error\s*=\s*"?use_dpop_nonce"?/i.test(challenge)) return undefined;
  return response.headers.get('dpop-nonce') ?? undefined;
}

/** The method and URL a `fetch` call will use, as its proof names them. */
function requestTarget(input: string | URL | Request, init: RequestInit | undefined): { method: string; url: string } {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const url = input instanceof Request ? input.url : String(input);
  return { method, url };
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
   * The RFC 7638 thumbprint of the DPoP key (what a bound token's `cnf.jkt` names), or
   * `undefined` when the client does not use DPoP.
   */
  get dpopThumbprint(): string | undefined {
    return nativeOf(this).dpopThumbprint ?? undefined;
  }

  /**
   * The headers that authorize one request to an API, for HTTP clients other than `fetch`:
   * `authorization` (`Bearer <token>`, or `DPoP <token>` with DPoP) and, with DPoP, `dpop`: a
   * proof for exactly this method and URL, usable once. When the API answers with a
   * `DPoP-Nonce` header, pass it to `rememberDpopNonce` so the next proofs carry it.
   */
  async getAuthorizationHeaders(
    method: string,
    url: string | URL,
    tokenOptions?: GetAccessTokenOptions,
  ): Promise<{ authorization: string; dpop?: string }> {
    if (typeof method !== 'string' || method === '') throw new MonoCloudValidationError('"method" must be a string');
    return this.#authorize(await this.getAccessToken(tokenOptions), method, String(url));
  }

  /** Keeps a `DPoP-Nonce` the server at `url` answered with, for later proofs to its origin. */
  rememberDpopNonce(url: string | URL, nonce: string): void {
    if (typeof nonce === 'string') nativeOf(this).rememberDpopNonce(String(url), nonce);
  }

  #authorize(token: AccessTokenResult, method: string, url: string): { authorization: string; dpop?: string } {
    const native = nativeOf(this);
    if (token.tokenType.toLowerCase() === 'dpop') {
      const proof = native.dpopProof(method, url, token.accessToken, Date.now());
      if (proof === null || proof === undefined) {
        throw new MonoCloudValidationError('The issuer gave a DPoP token, but this client has no DPoP key (option "dpop")');
      }
      return { authorization: `DPoP ${token.accessToken}`, dpop: unwrap<string>(proof) };
    }
    // `Bearer` in any case is a bearer token (RFC 6750 §4 compares it case-insensitively).
    if (token.tokenType.toLowerCase() !== 'bearer') {
      throw new MonoCloudValidationError(`fetch() sends Bearer and DPoP tokens only; the issuer gave a ${token.tokenType} token`);
    }
    return { authorization: `Bearer ${token.accessToken}` };
  }

  /**
   * `fetch` with an access token attached: `Authorization: Bearer`, or with DPoP
   * `Authorization: DPoP` and a `DPoP` proof for this method and URL. When the API answers
   * 401 with `error="use_dpop_nonce"` and a `DPoP-Nonce`, the request is sent once more with a
   * proof carrying the nonce; when it answers 401 with `error="invalid_token"`, the token is
   * dropped (here and in a shared cache) and the request is sent once more with a new one.
   * Either retry needs a body that can be sent again.
   */
  async fetch(input: string | URL | Request, init?: RequestInit, tokenOptions?: GetAccessTokenOptions): Promise<Response> {
    const request = nativeOptions(tokenOptions);
    const native = nativeOf(this);
    const { method, url } = requestTarget(input, init);
    // A Request's body is read by each send: keep an unread copy to clone for every retry.
    const original = input instanceof Request ? input.clone() : input;
    const canRepeat = replayable(init?.body);
    const sendOnce = async (token: AccessTokenResult): Promise<Response> => {
      const target = original instanceof Request ? original.clone() : original;
      const headers = new Headers(target instanceof Request ? target.headers : undefined);
      new Headers(init?.headers).forEach((value, name) => headers.set(name, value));
      const authorization = this.#authorize(token, method, url);
      headers.set('authorization', authorization.authorization);
      if (authorization.dpop) headers.set('dpop', authorization.dpop);
      const response = await fetch(target, { ...init, headers });
      const nonce = authorization.dpop ? response.headers.get('dpop-nonce') : null;
      if (nonce) native.rememberDpopNonce(url, nonce);
      return response;
    };
    // One nonce round trip per token: the retry's proof carries the nonce just remembered.
    const send = async (): Promise<{ response: Response; token: AccessTokenResult }> => {
      const token = await this.getAccessToken(tokenOptions);
      const response = await sendOnce(token);
      if (nonceChallenge(response) === undefined || !canRepeat || token.tokenType.toLowerCase() !== 'dpop') {
        return { response, token };
      }
      await response.body?.cancel().catch(() => undefined);
      return { response: await sendOnce(token), token };
    };
    const first = await send();
    if (!refusedToken(first.response) || !canRepeat) return first.response;
    await native.invalidate(first.token.accessToken, request);
    await first.response.body?.cancel().catch(() => undefined);
    return (await send()).response;
  }
}

/** A token client over `options` and `env` only (no `MONOCLOUD_BACKEND_*` variables). */
export function tokenClientWithEnv(
  options: MonoCloudTokenClientOptions,
  env: Record<string, string>,
): MonoCloudTokenClient {
  return new MonoCloudTokenClient({ ...options, [WITH_ENV]: env } as MonoCloudTokenClientOptions);
}
