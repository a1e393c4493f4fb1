/**
 * A small, self-contained OAuth 2.0 authorization server for tests: it publishes
 * discovery metadata and a JWKS, mints signed JWT access tokens and opaque tokens
 * (certificate-bound ones too), and answers RFC 7662 introspection and RFC 7009
 * revocation. Loopback only by default; not for production.
 *
 * @packageDocumentation
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import {
  generateSigningKey,
  isTestIssuerAlg,
  signCompact,
  verifyCompact,
  type SigningKey,
  type TestIssuerAlg,
} from './keys.js';

import { type DpopKey } from './dpop.js';

export type { TestIssuerAlg } from './keys.js';
export { createDpopProof, generateDpopKey, jwkThumbprint, type DpopKey, type DpopProofOptions } from './dpop.js';

/** Options for {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port to listen on. Default `0` (an ephemeral port). */
  port?: number;
  /** The `aud` of minted tokens. Default `'https://api.example.com'`. */
  audience?: string;
  /**
   * Algorithms to publish one key each for, with kid `${alg.toLowerCase()}-1`.
   * Default `['RS256', 'ES256', 'EdDSA']`.
   */
  algs?: TestIssuerAlg[];
  /**
   * Clients allowed to call the introspection endpoint. A client without a secret
   * authenticates with its `client_id` alone.
   * Default `[{ clientId: 'test-client', clientSecret: 'test-secret' }]`.
   */
  clients?: Array<{ clientId: string; clientSecret?: string }>;
}

/** Options for {@link TestIssuer.mint}. */
export interface MintOptions {
  /** Signing algorithm; must be one of the issuer's `algs`. Default: the first of them. */
  alg?: TestIssuerAlg;
  /**
   * Claims merged over the defaults: `iss` (issuer url), `sub` `'test-user'`,
   * `aud` (audience), `iat` now, `exp` now + `expiresIn`, `scope` `'read:things'`,
   * `client_id` `'test-client'`, `jti` random.
   */
  claims?: Record<string, unknown>;
  /** Lifetime in seconds for the default `exp`. Default 300. */
  expiresIn?: number;
  /** Merged over the default header `{ alg, typ: 'at+jwt', kid }`. The token is still signed with `alg`'s key. */
  header?: Record<string, unknown>;
  /** Default claims to leave out, e.g. `['exp']`. Claims given in `claims` are kept. */
  omit?: string[];
  /**
   * Binds the token to this client certificate (PEM, or base64 DER, or DER bytes) by adding
   * `cnf: { 'x5t#S256': certificateThumbprint(boundTo) }` (RFC 8705). A `cnf` in `claims` wins.
   */
  boundTo?: string | Uint8Array;
  /**
   * Binds the token to a DPoP key (RFC 9449 §6.1) by adding `cnf: { jkt }`: a key from
   * `generateDpopKey()`, or a JWK thumbprint. A `cnf` in `claims` wins.
   */
  dpopKey?: DpopKey | string;
}

/** Options for {@link TestIssuer.mintOpaque}. */
export interface MintOpaqueOptions {
  /** Lifetime in seconds for the default `exp`. Default 300. */
  expiresIn?: number;
  /** As {@link MintOptions.boundTo}. */
  boundTo?: string | Uint8Array;
  /** As {@link MintOptions.dpopKey}; introspection then also answers `token_type: "DPoP"`. */
  dpopKey?: DpopKey | string;
}

/**
 * What `new MonoCloudBackendNodeClient(...)` or `protectApi(...)` needs to trust a test issuer:
 * its URL as `tenantDomain`, its audience, and the first configured introspection client.
 */
export interface TestIssuerClientOptions {
  tenantDomain: string;
  audience: string;
  /** Absent when the issuer was created with `clients: []`. */
  clientId?: string;
  clientSecret?: string;
}

/** A running test issuer; see {@link createTestIssuer}. */
export interface TestIssuer {
  /** Base URL without a trailing slash, e.g. `'http://127.0.0.1:43210'`; also the `iss` it mints. */
  readonly url: string;
  /** The default `aud` of minted tokens. */
  readonly audience: string;
  /**
   * Client options pointing at this issuer: spread them into `protectApi({ ...issuer.clientOptions })`
   * or `new MonoCloudBackendNodeClient(...)`. The client id and secret enable introspection.
   */
  readonly clientOptions: TestIssuerClientOptions;
  /** The same as `MONOCLOUD_BACKEND_*` environment variables, for a child process or `process.env`. */
  readonly env: Record<string, string>;
  /** A signed JWT access token. */
  mint(options?: MintOptions): Promise<string>;
  /**
   * A random opaque token that introspection reports active (until it expires or is
   * revoked) with the default claims of {@link TestIssuer.mint} merged under `claims`.
   */
  mintOpaque(claims?: Record<string, unknown>, options?: MintOpaqueOptions): string;
  /**
   * Makes introspection answer `{"active":false}` for this token (JWT or opaque) from now on,
   * as a client's call to the RFC 7009 revocation endpoint `POST /revoke` does.
   */
  revoke(token: string): void;
  /**
   * Signs exactly the given header and payload, adding nothing. A string payload is
   * used as the raw JSON text (e.g. to craft duplicate keys). The key is `alg`'s, or
   * the header's `alg` when it names one of the issuer's algs, or the first alg.
   */
  signRaw(header: Record<string, unknown>, payload: Record<string, unknown> | string, alg?: TestIssuerAlg): Promise<string>;
  /**
   * Generates a new key per alg with the next kid (`rs256-2`, `rs256-3`, ...) and signs
   * with it from now on. `keep: true` keeps publishing the old keys; the default drops them.
   */
  rotateKeys(options?: { keep?: boolean }): void;
  /** The public JWKS currently served, newest keys first. */
  readonly jwks: { keys: Array<Record<string, unknown>> };
  /** How many requests each endpoint has served since start or {@link TestIssuer.resetCounters}. */
  requests: { discovery: number; jwks: number; introspection: number; revocation: number; token: number };
  /** Sets all request counters to zero. */
  resetCounters(): void;
  /** Stops the server, dropping open connections. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>, readonly headers: Record<string, string> = {}) {
    super(String(body.error));
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(400, { error: 'invalid_request', error_description: 'expected a form-encoded body' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, { error: 'invalid_request', error_description: 'body too large' });
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function isAbsoluteUri(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/** RFC 6749 §2.3.1: the id and secret are form-encoded before they are base64-encoded. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string | undefined;
}

function presentedCredentials(req: IncomingMessage, form: URLSearchParams): ClientCredentials | undefined {
  const authorization = req.headers.authorization;
  const postedId = form.get('client_id');
  const postedSecret = form.get('client_secret') ?? undefined;

  if (authorization !== undefined) {
    if (postedSecret !== undefined) {
      // RFC 6749 §2.3: a client must not use more than one authentication method.
      throw new HttpError(400, { error: 'invalid_request', error_description: 'more than one client authentication method' });
    }
    const match = /^basic\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return undefined;
    try {
      const clientId = formDecode(decoded.slice(0, colon));
      if (postedId !== null && postedId !== clientId) return undefined;
      return { clientId, clientSecret: formDecode(decoded.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }
  return postedId === null ? undefined : { clientId: postedId, clientSecret: postedSecret };
}

/**
 * The RFC 8705 `x5t#S256` thumbprint of a certificate: base64url (no padding) of the SHA-256 of
 * its DER bytes. A string is read the way the SDK reads a presented certificate: the body of the
 * first PEM `CERTIFICATE` block if there is one, else the whole string, as base64 with any
 * whitespace ignored. The certificate is not parsed, so any bytes will do in tests.
 */
export function certificateThumbprint(certificate: string | Uint8Array): string {
  let der: Uint8Array;
  if (typeof certificate === 'string') {
    const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(certificate);
    const base64 = (pem?.[1] ?? certificate).replace(/\s+/g, '');
    if (base64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new TypeError('certificate must be PEM or base64 DER');
    }
    der = Buffer.from(base64, 'base64');
  } else {
    der = certificate;
  }
  return createHash('sha256').update(der).digest('base64url');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function isCurrent(claims: Record<string, unknown>): boolean {
  const now = nowSeconds();
  if (typeof claims.exp === 'number' && claims.exp <= now) return false;
  if (typeof claims.nbf === 'number' && claims.nbf > now) return false;
  return true;
}

/**
 * Starts a test issuer listening on `host:port` (default an ephemeral port on
 * 127.0.0.1). It serves:
 * - `GET /.well-known/openid-configuration`, and the same at `/.well-known/oauth-authorization-server` (RFC 8414)
 * - `GET /jwks`
 * - `POST /token` (the client credentials grant, honouring RFC 8707 `resource`: it becomes the `aud`)
 * - `POST /introspect` (RFC 7662, `client_secret_basic` or `client_secret_post`)
 * - `POST /revoke` (RFC 7009, the same client authentication)
 *
 * Always {@link TestIssuer.close} it when done.
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const host = options.host ?? '127.0.0.1';
  const audience = options.audience ?? 'https://api.example.com';
  const algs: TestIssuerAlg[] = options.algs?.length ? [...options.algs] : ['RS256', 'ES256', 'EdDSA'];
  for (const alg of algs) {
    if (!isTestIssuerAlg(alg)) throw new TypeError(`unsupported alg: ${String(alg)}`);
  }
  const clients = new Map(
    (options.clients ?? [{ clientId: 'test-client', clientSecret: 'test-secret' }]).map((c) => [c.clientId, c.clientSecret]),
  );

  let generation = 1;
  // Newest first, so the first key of an alg is the one that signs.
  let keys: SigningKey[] = algs.map((alg) => generateSigningKey(alg, `${alg.toLowerCase()}-1`));
  const opaqueTokens = new Map<string, Record<string, unknown>>();
  const revoked = new Set<string>();

  const server = createServer();
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  function keyFor(alg: TestIssuerAlg): SigningKey {
    const key = keys.find((k) => k.alg === alg);
    if (!key) throw new Error(`the test issuer has no ${alg} key; it was created with algs ${algs.join(', ')}`);
    return key;
  }

  function defaultClaims(expiresIn: number): Record<string, unknown> {
    const iat = nowSeconds();
    return {
      iss: url,
      sub: 'test-user',
      aud: audience,
      iat,
      exp: iat + expiresIn,
      scope: 'read:things',
      client_id: 'test-client',
      jti: randomUUID(),
    };
  }

  /** The `cnf` claim for `boundTo`, merged under explicit claims so a given `cnf` wins. */
  function binding(boundTo: string | Uint8Array | undefined, dpopKey?: DpopKey | string): Record<string, unknown> {
    const cnf: Record<string, unknown> = {};
    if (boundTo !== undefined) cnf['x5t#S256'] = certificateThumbprint(boundTo);
    if (dpopKey !== undefined) cnf.jkt = typeof dpopKey === 'string' ? dpopKey : dpopKey.thumbprint;
    return Object.keys(cnf).length === 0 ? {} : { cnf };
  }

  function introspect(token: string): Record<string, unknown> | undefined {
    if (revoked.has(token)) return undefined;
    const claims = opaqueTokens.get(token) ?? verifyCompact(token, keys);
    return claims && isCurrent(claims) ? claims : undefined;
  }

  /** Reads the form and authenticates the client, as every endpoint but discovery and keys must. */
  async function authenticatedForm(req: IncomingMessage): Promise<{ form: URLSearchParams; clientId: string }> {
    const form = await readForm(req);
    const credentials = presentedCredentials(req, form);
    const authenticated = credentials !== undefined
      && clients.has(credentials.clientId)
      && (clients.get(credentials.clientId) ?? '') === (credentials.clientSecret ?? '');
    if (!authenticated || credentials === undefined) {
      throw new HttpError(401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="test-issuer"' });
    }
    return { form, clientId: credentials.clientId };
  }

  /**
   * The client credentials grant (RFC 6749 §4.4), with RFC 8707 resource indicators: the token's
   * `aud` is the requested `resource` (or all of them), else the issuer's audience.
   */
  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { form, clientId } = await authenticatedForm(req);
    if (form.get('grant_type') !== 'client_credentials') {
      throw new HttpError(400, { error: 'unsupported_grant_type' });
    }
    const resources = form.getAll('resource');
    for (const resource of resources) {
      // RFC 8707 §2: an absolute URI without a fragment.
      if (!isAbsoluteUri(resource) || resource.includes('#')) {
        throw new HttpError(400, { error: 'invalid_target', error_description: 'resource must be an absolute URI without a fragment' });
      }
    }
    const scope = form.get('scope') ?? 'read:things';
    const expiresIn = 300;
    const claims: Record<string, unknown> = { scope, client_id: clientId, sub: clientId };
    if (resources.length > 0) claims.aud = resources.length === 1 ? resources[0] : resources;
    const accessToken = await issuer.mint({ claims, expiresIn });
    res.setHeader('cache-control', 'no-store');
    sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope });
  }

  /** Reads the form, authenticates the client (as introspection and revocation both must) and returns `token`. */
  async function authenticatedToken(req: IncomingMessage): Promise<string> {
    const { form } = await authenticatedForm(req);
    const token = form.get('token');
    if (!token) {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'missing token' });
    }
    return token;
  }

  async function handleIntrospection(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claims = introspect(await authenticatedToken(req));
    sendJson(res, 200, claims ? { active: true, ...claims } : { active: false });
  }

  async function handleRevocation(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // RFC 7009 §2.2: 200 with an empty body, whether or not the token was known.
    revoked.add(await authenticatedToken(req));
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', url).pathname;
    const route = `${req.method ?? ''} ${path}`;
    if (route === 'GET /.well-known/openid-configuration' || route === 'GET /.well-known/oauth-authorization-server') {
      // The same document under OpenID Connect discovery and RFC 8414 (what OAuth and MCP
      // clients ask for).
      issuer.requests.discovery += 1;
      sendJson(res, 200, {
        issuer: url,
        jwks_uri: `${url}/jwks`,
        token_endpoint: `${url}/token`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        grant_types_supported: ['client_credentials'],
        response_types_supported: [],
        introspection_endpoint: `${url}/introspect`,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        revocation_endpoint: `${url}/revoke`,
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    } else if (route === 'POST /token') {
      issuer.requests.token += 1;
      await handleToken(req, res);
    } else if (route === 'GET /jwks') {
      issuer.requests.jwks += 1;
      sendJson(res, 200, issuer.jwks);
    } else if (route === 'POST /introspect') {
      issuer.requests.introspection += 1;
      await handleIntrospection(req, res);
    } else if (route === 'POST /revoke') {
      issuer.requests.revocation += 1;
      await handleRevocation(req, res);
    } else {
      sendJson(res, 404, { error: 'not_found' });
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof HttpError) {
        sendJson(res, err.status, err.body, err.headers);
      } else {
        sendJson(res, 500, { error: 'server_error' });
      }
    });
  });

  let closing: Promise<void> | undefined;

  const clientOptions: TestIssuerClientOptions = { tenantDomain: url, audience };
  const env: Record<string, string> = { MONOCLOUD_BACKEND_TENANT_DOMAIN: url, MONOCLOUD_BACKEND_AUDIENCE: audience };
  const [firstClient] = clients;
  if (firstClient) {
    const [clientId, clientSecret] = firstClient;
    clientOptions.clientId = clientId;
    env.MONOCLOUD_BACKEND_CLIENT_ID = clientId;
    if (clientSecret !== undefined) {
      clientOptions.clientSecret = clientSecret;
      env.MONOCLOUD_BACKEND_CLIENT_SECRET = clientSecret;
    }
  }

  const issuer: TestIssuer = {
    url,
    audience,
    get clientOptions() {
      return { ...clientOptions };
    },
    get env() {
      return { ...env };
    },
    requests: { discovery: 0, jwks: 0, introspection: 0, revocation: 0, token: 0 },

    get jwks() {
      return { keys: keys.map((k) => ({ ...k.publicJwk })) };
    },

    async mint(mintOptions: MintOptions = {}) {
      const alg = mintOptions.alg ?? algs[0];
      const key = keyFor(alg);
      const claims = defaultClaims(mintOptions.expiresIn ?? 300);
      for (const name of mintOptions.omit ?? []) delete claims[name];
      const payload = { ...claims, ...binding(mintOptions.boundTo, mintOptions.dpopKey), ...mintOptions.claims };
      const header = { alg, typ: 'at+jwt', kid: key.kid, ...mintOptions.header };
      return signCompact(key, header, JSON.stringify(payload));
    },

    mintOpaque(claims = {}, opaqueOptions = {}) {
      const token = randomBytes(32).toString('base64url');
      const dpop = opaqueOptions.dpopKey === undefined ? {} : { token_type: 'DPoP' };
      opaqueTokens.set(token, {
        ...defaultClaims(opaqueOptions.expiresIn ?? 300),
        ...binding(opaqueOptions.boundTo, opaqueOptions.dpopKey),
        ...dpop,
        ...claims,
      });
      return token;
    },

    revoke(token: string) {
      revoked.add(token);
    },

    async signRaw(header, payload, alg) {
      const chosen = alg ?? (isTestIssuerAlg(header.alg) && algs.includes(header.alg) ? header.alg : algs[0]);
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      return signCompact(keyFor(chosen), header, text);
    },

    rotateKeys(rotateOptions = {}) {
      generation += 1;
      const fresh = algs.map((alg) => generateSigningKey(alg, `${alg.toLowerCase()}-${generation}`));
      keys = rotateOptions.keep ? [...fresh, ...keys] : fresh;
    },

    resetCounters() {
      issuer.requests.discovery = 0;
      issuer.requests.jwks = 0;
      issuer.requests.introspection = 0;
      issuer.requests.revocation = 0;
      issuer.requests.token = 0;
    },

    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets would otherwise hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };

  return issuer;
}
