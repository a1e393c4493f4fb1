/**
 * `@monocloud/backend-node-rs/jwt-bearer`: the API of express-oauth2-jwt-bearer (`auth`, the
 * claim helpers and the error classes) over the native verifier, so that a program written for
 * that library runs after changing its import.
 *
 * @packageDocumentation
 */
import { strict as assert } from 'node:assert';

import type { NextFunction, Request, Response } from 'express';

import type { Failure } from '../../binding.cjs';
import {
  cachedClaims,
  createNative,
  inCheckPhase,
  isThenable,
  type NativeClient,
  type RequestVerifiers,
  toError,
} from '../native/index.js';
import {
  bearerChallenge,
  InsufficientScopeError,
  InvalidProofError,
  InvalidRequestError,
  InvalidTokenError,
  UnauthorizedError,
} from './errors.js';

export {
  InsufficientScopeError,
  InvalidProofError,
  InvalidRequestError,
  InvalidTokenError,
  UnauthorizedError,
} from './errors.js';

/** A token's payload, as that library types it. */
export interface JWTPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string;
  nbf?: number;
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** A token's protected header. */
export interface JWTHeader {
  alg: string;
  typ?: string;
  kid?: string;
  [parameter: string]: unknown;
}

/** What `auth()` puts on `req.auth`. */
export interface AuthResult {
  header: JWTHeader;
  payload: JWTPayload;
  token: string;
}

declare global {
  // Express's own declaration merging point for request members.
  namespace Express {
    interface Request {
      /** The verified token, on routes behind `auth()`. */
      auth?: AuthResult;
    }
  }
}

/** A check of one claim (or of `alg`/`typ` in the header): a value to equal, a function, or `false` to skip. */
export type Validator = string | false | ((value: unknown, payload: JWTPayload, header: JWTHeader) => boolean | Promise<boolean>);

export interface DPoPOptions {
  /** Accept DPoP-bound tokens with their proofs. Default true. */
  enabled?: boolean;
  /** Accept only DPoP. Default false. */
  required?: boolean;
  /** Seconds a proof's `iat` may lie in the past. Default 300. */
  iatOffset?: number;
  /** Seconds a proof's `iat` may lie in the future. Default 30. */
  iatLeeway?: number;
}

export interface AuthOptions {
  /** The issuer's base URL; its metadata is discovered (OpenID, then OAuth 2.0). Env `ISSUER_BASE_URL`. */
  issuerBaseURL?: string;
  /** The `aud` accepted: a string or a list (any one matches). Env `AUDIENCE`. */
  audience?: string | string[];
  /** The `iss` expected, instead of the discovered one. Env `ISSUER`. */
  issuer?: string;
  /** The key set's URL, instead of the discovered one. Env `JWKS_URI`. */
  jwksUri?: string;
  /**
   * A shared secret: tokens signed with it and `tokenSigningAlg` (HS256/384/512) only; no key
   * set is fetched and public-key tokens are refused. Env `SECRET`.
   */
  secret?: string;
  /** The one algorithm tokens may be signed with. Env `TOKEN_SIGNING_ALG`. */
  tokenSigningAlg?: string;
  /** `false` lets requests without a valid token through (without `req.auth`). Default true. */
  authRequired?: boolean;
  /** Checks replacing or adding to the defaults, by claim name. */
  validators?: Partial<Record<string, Validator>>;
  /** Seconds of grace on `exp` and `nbf` (and `iat` with `maxTokenAge`). Default 5. */
  clockTolerance?: number;
  /** Seconds a token may be old by its `iat`. */
  maxTokenAge?: number;
  /** RFC 9068 profile: `typ` `at+jwt`, and `iat`, `sub`, `client_id`, `jti` required. Default false. */
  strict?: boolean;
  /** Milliseconds an exchange with the issuer may take. Default 5000. */
  timeoutDuration?: number;
  /** Milliseconds the discovery document and key set are kept. Default 600000. */
  cacheMaxAge?: number;
  /** Accepted for compatibility; the key set is refetched for an unknown `kid` at most every 30 s. */
  cooldownDuration?: number;
  /** DPoP (RFC 9449). */
  dpop?: DPoPOptions;
  /** Not used: set `HTTPS_PROXY` and `NODE_EXTRA_CA_CERTS` instead. */
  agent?: unknown;
  /** Several issuers: a list, or a resolver per request, each issuer with its own discovery and keys. */
  mcd?: MultipleIssuersOptions;
  /** Not supported: refused at start-up. */
  publicKey?: unknown;
}

export type Handler = (req: Request, res: Response, next: NextFunction) => void;

// That library's lists: the challenge advertises ASYMMETRIC_ALGS minus ES256K, which no key
// here verifies (a deliberate difference, see the README).
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES256K', 'ES384', 'ES512', 'EdDSA'];
const SYMMETRIC_ALGS = ['HS256', 'HS384', 'HS512'];
const DPOP_ALGS = ASYMMETRIC_ALGS.filter((alg) => alg !== 'ES256K');
const DPOP_ALGS_TEXT = DPOP_ALGS.join(' ');
const OIDC_DISCOVERY = '/.well-known/openid-configuration';
const OAUTH2_DISCOVERY = '/.well-known/oauth-authorization-server';

let agentWarned = false;

function warnAgent(): void {
  if (agentWarned) return;
  agentWarned = true;
  process.emitWarning(
    "The 'agent' option is ignored: the issuer is reached by the native HTTP client. Set HTTPS_PROXY for a proxy and NODE_EXTRA_CA_CERTS for extra trusted certificates.",
    { code: 'MONOCLOUD_JWT_BEARER_AGENT' },
  );
}

interface Settings {
  issuerBaseURL: string | undefined;
  issuer: string | undefined;
  jwksUri: string | undefined;
  audiences: string[];
  tokenSigningAlg: string | undefined;
  secret: string | undefined;
  clockTolerance: number;
  maxTokenAge: number | undefined;
  strict: boolean;
  timeoutDuration: number;
  cacheMaxAge: number;
  validators: Partial<Record<string, Validator>>;
  dpopEnabled: boolean;
  dpopRequired: boolean;
  iatOffset: number;
  iatLeeway: number;
}

/** That library's start-up checks, with its messages (as `AssertionError`s, as it throws them). */
function settingsOf(opts: AuthOptions): Settings {
  const env = process.env;
  const issuerBaseURL = opts.issuerBaseURL ?? env.ISSUER_BASE_URL;
  const jwksUri = opts.jwksUri ?? env.JWKS_URI;
  const issuer = opts.issuer ?? env.ISSUER;
  const audience = opts.audience ?? env.AUDIENCE;
  const secret = opts.secret ?? env.SECRET;
  const tokenSigningAlg = opts.tokenSigningAlg ?? env.TOKEN_SIGNING_ALG;
  const { mcd, publicKey } = opts;
  assert(
    mcd || issuerBaseURL || (issuer && (jwksUri || secret || publicKey)),
    "You must provide 'mcd', 'issuerBaseURL', or both 'issuer' and ('jwksUri', 'secret', or 'publicKey')",
  );
  assert(!(mcd && issuerBaseURL), "You must not provide both 'mcd' and 'issuerBaseURL'");
  assert(!(mcd && issuer), "You must not provide both 'mcd' and 'issuer'. Use 'mcd' for multi-issuer mode.");
  assert(!(mcd && jwksUri), "You must not provide both 'mcd' and 'jwksUri'. Use 'mcd' for multi-issuer mode.");
  assert(!(secret && jwksUri), "You must not provide both a 'secret' and 'jwksUri'");
  assert(!(publicKey && jwksUri), "You must not provide both a 'publicKey' and 'jwksUri'");
  assert(!(publicKey && secret), "You must not provide both a 'publicKey' and 'secret'");
  assert(!(publicKey && issuerBaseURL), "You must not provide both a 'publicKey' and 'issuerBaseURL'");
  assert(!(mcd && secret), "Cannot use top-level \"secret\" with mcd mode.");
  assert(!(mcd && publicKey), "Cannot use top-level \"publicKey\" with mcd mode.");
  assert(audience && (!Array.isArray(audience) || audience.length > 0), "An 'audience' is required to validate the 'aud' claim");
  assert(!secret || tokenSigningAlg, "You must provide a 'tokenSigningAlg' for validating symmetric algorithms");
  assert(
    secret || !tokenSigningAlg || ASYMMETRIC_ALGS.includes(tokenSigningAlg),
    `You must supply one of ${ASYMMETRIC_ALGS.join(', ')} for 'tokenSigningAlg' to validate asymmetrically signed tokens`,
  );
  assert(
    !secret || (tokenSigningAlg && SYMMETRIC_ALGS.includes(tokenSigningAlg)),
    `You must supply one of ${SYMMETRIC_ALGS.join(', ')} for 'tokenSigningAlg' to validate symmetrically signed tokens`,
  );
  // Not built yet here: refused loudly rather than half-supported.
  if (mcd) assert((mcd as MultipleIssuersOptions).issuers, "Invalid MCD configuration: 'issuers' is required");
  assert(!publicKey, "'publicKey' is not supported by this package; use 'jwksUri'");

  const dpop = opts.dpop;
  if (dpop !== undefined) {
    assert(typeof dpop === 'object' && dpop !== null && !Array.isArray(dpop), 'Invalid DPoP configuration: "dpop" must be an object');
    const { enabled, required, iatOffset, iatLeeway } = dpop;
    if (enabled !== undefined) assert(typeof enabled === 'boolean', 'Invalid DPoP option: "enabled" must be a boolean');
    if (required !== undefined) assert(typeof required === 'boolean', 'Invalid DPoP option: "required" must be a boolean');
    for (const [name, value] of [
      ['iatOffset', iatOffset],
      ['iatLeeway', iatLeeway],
    ] as const) {
      if (value === undefined) continue;
      assert(typeof value === 'number', `Invalid DPoP option: "${name}" must be a number`);
      assert(value >= 0, `Invalid DPoP option: "${name}" must be a non-negative number`);
    }
    assert(!(enabled === false && required === true), 'Invalid DPoP configuration: cannot set "required" to true when "enabled" is false');
  }
  if (opts.agent !== undefined) warnAgent();

  const audiences = (Array.isArray(audience) ? audience : [audience]).filter((aud): aud is string => typeof aud === 'string' && aud !== '');
  assert(audiences.length > 0, "An 'audience' is required to validate the 'aud' claim");
  return {
    issuerBaseURL: issuerBaseURL || undefined,
    issuer: issuer || undefined,
    jwksUri: jwksUri || undefined,
    audiences,
    tokenSigningAlg: tokenSigningAlg || undefined,
    secret: secret || undefined,
    clockTolerance: opts.clockTolerance ?? 5,
    maxTokenAge: opts.maxTokenAge,
    strict: opts.strict ?? false,
    timeoutDuration: opts.timeoutDuration ?? 5000,
    cacheMaxAge: opts.cacheMaxAge ?? 600_000,
    validators: opts.validators ?? {},
    dpopEnabled: dpop?.enabled ?? true,
    dpopRequired: dpop?.required ?? false,
    iatOffset: dpop?.iatOffset ?? 300,
    iatLeeway: dpop?.iatLeeway ?? 30,
  };
}

interface Metadata {
  issuer: string;
  jwks_uri?: string;
  id_token_signing_alg_values_supported?: string[];
  [member: string]: unknown;
}

async function fetchMetadata(url: URL, timeoutDuration: number): Promise<Metadata> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutDuration), redirect: 'error' });
  if (!response.ok) throw new Error(`Failed to fetch ${url.href}, responded with ${response.status}`);
  let data: unknown;
  try {
    data = await response.json();
  } catch {
    throw new Error(`Failed to parse the response from ${url.href}`);
  }
  if (typeof data !== 'object' || data === null || typeof (data as Metadata).issuer !== 'string') {
    throw new Error("'issuer' not found in authorization server metadata");
  }
  return data as Metadata;
}

/** OpenID Connect Discovery, then RFC 8414 (path inserted after the well-known prefix). */
async function discover(base: string, timeoutDuration: number): Promise<Metadata> {
  const url = new URL(base);
  if (url.pathname.includes('/.well-known/')) return fetchMetadata(url, timeoutDuration);
  const path = url.pathname;
  const candidates = [
    path.endsWith('/') ? `${path}${OIDC_DISCOVERY.slice(1)}` : `${path}${OIDC_DISCOVERY}`,
    path === '/' ? OAUTH2_DISCOVERY : `${OAUTH2_DISCOVERY}${path}`,
  ];
  for (const candidate of candidates) {
    try {
      return await fetchMetadata(new URL(candidate, url), timeoutDuration);
    } catch {
      // The next form may answer.
    }
  }
  throw new Error('Failed to fetch authorization server metadata');
}

/** Where one issuer's tokens are checked against: the single issuer of `auth()`, or one of `mcd`. */
interface Source {
  issuerBaseURL: string | undefined;
  issuer: string | undefined;
  jwksUri: string | undefined;
  secret: string | undefined;
  alg: string | undefined;
  /** `mcd`'s discovered issuer must match the token's (normalised). */
  mustMatch?: string;
}

/** The native verifier, once the issuer is known, and the default checks for its algorithms. */
interface Verifier {
  native: NativeClient;
  verifiers: RequestVerifiers;
  checks: Record<string, Check>;
  /** For a verifier of several issuers: the checks of the issuer of a verified payload. */
  checksOf?: (payload: JWTPayload) => Record<string, Check>;
}

/** The native options every verifier of this `auth()` shares, from that library's settings. */
function commonOptions(settings: Settings): Record<string, unknown> {
  const seconds = settings.cacheMaxAge / 1000;
  const [audience, ...audiences] = settings.audiences;
  return {
    audience,
    audiences,
    clockTolerance: settings.clockTolerance,
    jwksCacheDuration: seconds,
    metadataCacheDuration: seconds,
    responseTimeout: Math.max(settings.timeoutDuration, 1000),
    dpop: {
      mode: !settings.dpopEnabled ? 'disabled' : settings.dpopRequired ? 'required' : 'allowed',
      algorithms: DPOP_ALGS,
      iatOffset: settings.iatOffset,
      iatLeeway: settings.iatLeeway,
    },
  };
}

function nativeFor(settings: Settings, source: Source, metadata: Metadata | undefined): Verifier {
  const issuer = source.issuer ?? metadata?.issuer;
  if (!issuer) throw new Error("'issuer' not found in authorization server metadata");
  const jwksUri = source.jwksUri ?? metadata?.jwks_uri;
  // The document the core works from: the discovered one with the configured overrides. Later
  // refreshes discover again (and keep the overrides).
  const document = { ...metadata, issuer, jwks_uri: jwksUri };
  const base = source.issuerBaseURL;
  const native = createNative(
    'oidc',
    {
      ...commonOptions(settings),
      tenantDomain: base ?? issuer,
      issuer,
      ...(source.secret ? { hmacSecret: source.secret, hmacAlg: source.alg } : {}),
      metadataResolver: async () => {
        if (!base) return document;
        const fresh = await discover(base, settings.timeoutDuration);
        return { ...fresh, issuer, jwks_uri: source.jwksUri ?? fresh.jwks_uri };
      },
    } as never,
    {},
  );
  const checks = defaultChecks(settings, source.alg, metadata?.id_token_signing_alg_values_supported);
  return { native, verifiers: native.requestVerifiers(), checks };
}

/**
 * One native client for the discovered issuers of a static `mcd` list (the core's `issuers`):
 * the core picks the issuer by the token's `iss` before anything is fetched, and keeps each
 * one's discovery document, key set and verified tokens apart. Discovery is that library's
 * (OpenID, then OAuth 2.0 metadata, whose `issuer` must be the listed one), run when an issuer's
 * first token arrives and again when its document expires.
 */
function listedVerifier(settings: Settings, issuers: string[]): Verifier {
  const plain = defaultChecks(settings, undefined, undefined);
  const checksByIssuer = new Map<string, Record<string, Check>>();
  const native = createNative(
    'oidc',
    {
      ...commonOptions(settings),
      issuers,
      metadataResolver: async (issuer: string) => {
        const metadata = await discover(issuer, settings.timeoutDuration);
        if (normaliseIssuer(metadata.issuer) !== issuer) throw new Error('Discovery metadata issuer does not match token issuer');
        checksByIssuer.set(issuer, defaultChecks(settings, undefined, metadata.id_token_signing_alg_values_supported));
        return metadata;
      },
    } as never,
    {},
  );
  const checksOf = (payload: JWTPayload): Record<string, Check> =>
    (typeof payload.iss === 'string' && checksByIssuer.get(normaliseIssuer(payload.iss))) || plain;
  return { native, verifiers: native.requestVerifiers(), checks: plain, checksOf };
}

/**
 * One trusted issuer's verifier. Discovery waits for the first token of this issuer, as in that
 * library; a failure is that request's answer and the next request tries again.
 */
class Trusted {
  private verifier: Verifier | undefined;
  private pending: Promise<Verifier> | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly source: Source,
  ) {
    // Without discovery the core is built now, so a bad option throws at start-up.
    if (!source.issuerBaseURL) this.verifier = nativeFor(settings, source, undefined);
  }

  ready(): Verifier | Promise<Verifier> {
    if (this.verifier) return this.verifier;
    const { settings, source } = this;
    this.pending ??= discover(source.issuerBaseURL as string, settings.timeoutDuration).then(
      (metadata) => {
        if (source.mustMatch !== undefined && normaliseIssuer(metadata.issuer) !== source.mustMatch) {
          throw new Error('Discovery metadata issuer does not match token issuer');
        }
        return (this.verifier = nativeFor(settings, source, metadata));
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending.catch((error: unknown) => {
      this.pending = undefined;
      throw error instanceof UnauthorizedError ? error : new InvalidTokenError(error instanceof Error ? error.message : String(error));
    });
  }
}

/**
 * An issuer URL in that library's comparison form: https:// when no scheme, lower-case host,
 * no default port, no trailing slash. Userinfo, a query or a fragment are refused.
 */
function normaliseIssuer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(/^https?:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    return url;
  }
  if (parsed.protocol === 'http:' && process.env.NODE_ENV === 'production') {
    throw new InvalidRequestError('HTTP issuer URL detected in production environment. Use HTTPS for security.');
  }
  if (parsed.username || parsed.password) throw new InvalidRequestError('Invalid issuer URL: URLs must not contain userinfo (username:password)');
  if (parsed.search) throw new InvalidRequestError('Invalid issuer URL: URLs must not contain query parameters');
  if (parsed.hash) throw new InvalidRequestError('Invalid issuer URL: URLs must not contain fragments');
  // URL already drops the scheme's default port and lower-cases the host.
  const path = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/** One `mcd` issuer: its URL, or `{ issuer, jwksUri?, secret?, alg? }`. */
export type IssuerConfig = string | { issuer: string; jwksUri?: string; secret?: string; alg?: string; publicKey?: unknown };

/** What an `mcd.issuers` resolver is given. */
export interface IssuerResolverContext {
  url: URL;
  headers: Record<string, string | string[] | undefined>;
}

export interface MultipleIssuersOptions {
  /** The trusted issuers, or a function deciding them per request. */
  issuers: IssuerConfig | IssuerConfig[] | ((context: IssuerResolverContext) => IssuerConfig[] | Promise<IssuerConfig[]>);
}

/** That library's per-issuer configuration checks (plain `Error`s, as it throws them). */
function checkIssuerConfig(config: IssuerConfig, thrown: (message: string) => Error): void {
  if (typeof config === 'string') return;
  const { issuer, secret, jwksUri, alg, publicKey } = config;
  if (publicKey && jwksUri) throw thrown(`Issuer '${issuer}' provides both 'publicKey' and 'jwksUri'. These are mutually exclusive.`);
  if (publicKey && secret) throw thrown(`Issuer '${issuer}' provides both 'publicKey' and 'secret'. Use 'publicKey' for asymmetric and 'secret' for symmetric verification.`);
  if (alg && SYMMETRIC_ALGS.includes(alg) && !secret) {
    throw thrown(`Issuer '${issuer}' specifies symmetric algorithm '${alg}' but no secret provided. Either provide a secret or use an asymmetric algorithm (${ASYMMETRIC_ALGS.join(', ')}).`);
  }
  if (secret && alg && ASYMMETRIC_ALGS.includes(alg)) {
    throw thrown(`Issuer '${issuer}' provides a secret but specifies asymmetric algorithm '${alg}'. Symmetric algorithms are: ${SYMMETRIC_ALGS.join(', ')}.`);
  }
  if (secret && !alg) throw thrown(`Issuer '${issuer}' provides a secret but no 'alg' specified. Specify one of: ${SYMMETRIC_ALGS.join(', ')}.`);
  if (publicKey) throw thrown(`Issuer '${issuer}': 'publicKey' is not supported by this package; use 'jwksUri'`);
}

/** The `iss` of a token, read without verification, only to pick the issuer to verify it with. */
function unverifiedIssuer(token: string): string {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  let iss: unknown;
  try {
    iss = (JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')) as { iss?: unknown }).iss;
  } catch {
    throw new InvalidTokenError('Invalid JWT');
  }
  if (typeof iss !== 'string' || iss === '') throw new InvalidTokenError("Token missing required 'iss' claim");
  return iss;
}

// The issuer URLs the core's list takes: https, or http on a loopback host. Others (http
// elsewhere, which that library allows outside production) keep a verifier of their own.
const CORE_ISSUER = /^(?:https:\/\/|http:\/\/(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?(?:\/|$))/;

// A resolver may name new issuers on every request: their verifiers are kept in a bounded map.
const MAX_RESOLVED_ISSUERS = 100;

/**
 * `mcd`: one verifier per trusted issuer, each with its own discovery, keys and caches, chosen by
 * the token's `iss` before anything is fetched. A token from any other issuer is refused
 * without a network call.
 */
class Issuers {
  private readonly byIssuer = new Map<string, Trusted>();
  private readonly fixed: Map<string, IssuerConfig> | undefined;
  /** The static list's issuers that are discovered (a URL, or `{ issuer }` alone), in one verifier. */
  private readonly listed: Set<string> | undefined;
  private listedVerifier: Verifier | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly mcd: MultipleIssuersOptions,
  ) {
    const { issuers } = mcd;
    if (typeof issuers !== 'function') {
      this.fixed = new Map();
      this.listed = new Set();
      for (const config of Array.isArray(issuers) ? issuers : [issuers]) {
        checkIssuerConfig(config, (message) => new Error(`Configuration error: ${message}`));
        const normalised = normaliseIssuer(typeof config === 'string' ? config : config.issuer);
        const discovered = typeof config === 'string' || (!config.jwksUri && !config.secret && !config.alg);
        // The first entry for an issuer decides, as that library's lookup finds it.
        if (this.fixed.has(normalised) || this.listed.has(normalised)) continue;
        if (discovered && CORE_ISSUER.test(normalised)) this.listed.add(normalised);
        else this.fixed.set(normalised, config);
      }
      // Built now, so that a bad option throws at start-up; nothing is fetched before a token.
      if (this.listed.size > 0) this.listedVerifier = listedVerifier(settings, [...this.listed]);
    }
  }

  pick(token: string, req: Request): Trusted | Verifier | Promise<Trusted> {
    const iss = unverifiedIssuer(token);
    const normalised = normaliseIssuer(iss);
    if (this.listedVerifier && this.listed?.has(normalised)) return this.listedVerifier;
    if (this.fixed) return this.trusted(iss, normalised, this.fixed.get(normalised));
    const resolver = this.mcd.issuers as (context: IssuerResolverContext) => IssuerConfig[] | Promise<IssuerConfig[]>;
    const context: IssuerResolverContext = { url: new URL(`${req.protocol}://${hostOf(req)}${req.originalUrl ?? req.url}`), headers: req.headers };
    return Promise.resolve(resolver(context)).then((resolved) => {
      if (!Array.isArray(resolved)) throw new InvalidRequestError('Issuer resolver function must return an array');
      if (resolved.length === 0) throw new InvalidTokenError('No issuers configured for token validation');
      const config = resolved.find((candidate) => normaliseIssuer(typeof candidate === 'string' ? candidate : candidate.issuer) === normalised);
      if (config !== undefined) checkIssuerConfig(config, (message) => new InvalidTokenError(message));
      return this.trusted(iss, normalised, config);
    });
  }

  private trusted(iss: string, normalised: string, config: IssuerConfig | undefined): Trusted {
    if (config === undefined) throw new InvalidTokenError('Token issuer is not allowed');
    const key = `${normalised}\n${typeof config === 'string' ? '' : JSON.stringify(config)}`;
    let trusted = this.byIssuer.get(key);
    if (trusted === undefined) {
      const detail = typeof config === 'string' ? { issuer: config } : config;
      const fixedKeys = Boolean(detail.secret || detail.jwksUri);
      trusted = new Trusted(this.settings, {
        issuerBaseURL: fixedKeys ? undefined : iss,
        issuer: fixedKeys ? iss : undefined,
        jwksUri: detail.jwksUri,
        secret: detail.secret,
        alg: detail.alg,
        mustMatch: normalised,
      });
      if (this.byIssuer.size >= MAX_RESOLVED_ISSUERS) this.byIssuer.delete(this.byIssuer.keys().next().value as string);
      this.byIssuer.set(key, trusted);
    }
    return trusted;
  }
}

// The core's words for the common refusals, in the words that library uses (jose's and its own).
const MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/^Invalid Issuer$/, "Unexpected 'iss' value"],
  [/^Invalid audience claim$/, "Unexpected 'aud' value"],
  [/^Unexpected "exp" \(expiration time\) claim value/, '"exp" claim timestamp check failed'],
  [/^Unexpected "nbf" \(not before\) claim value/, '"nbf" claim timestamp check failed'],
  [/^JWT signature verification failed$/, 'signature verification failed'],
  [/^A DPoP-bound access token must be sent with its DPoP proof$/, 'DPoP-bound token requires the DPoP authentication scheme, not Bearer.'],
];

function libraryMessage(message: string): string {
  for (const [pattern, replacement] of MESSAGES) if (pattern.test(message)) return replacement;
  return message;
}

function errorOf(failure: Failure): UnauthorizedError {
  switch (failure.kind) {
    case 'token':
      if (failure.code === 'invalid_dpop_proof' || failure.code === 'use_dpop_nonce') return new InvalidProofError(failure.message);
      if (failure.code === 'invalid_request') return new InvalidRequestError(failure.message);
      return new InvalidTokenError(libraryMessage(failure.message));
    case 'op':
      return new InvalidTokenError(failure.errorDescription || failure.error);
    case 'http':
    case 'validation':
      return new InvalidTokenError(failure.message);
    case 'callback': {
      // A failed discovery of a listed issuer: that request's answer, as a single issuer's is.
      const thrown = toError(failure);
      if (thrown instanceof UnauthorizedError) return thrown;
      return new InvalidTokenError(thrown instanceof Error ? thrown.message : String(thrown));
    }
    default:
      return new InvalidTokenError('Invalid Token');
  }
}

const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

// Hosts seen valid before, so that the usual request skips the pattern.
const validHosts = new Set<string>();

/** The host the client addressed, by Express's `trust proxy` rules; invalid ones are refused. */
function hostOf(req: Request): string {
  const { headers } = req;
  let host = headers.host;
  const forwarded = headers['x-forwarded-host'];
  if (typeof forwarded === 'string' && forwarded !== '') {
    const trust: unknown = req.app?.get?.('trust proxy fn');
    if (typeof trust === 'function' && trust(req.socket?.remoteAddress, 0)) {
      const comma = forwarded.indexOf(',');
      host = comma === -1 ? forwarded : forwarded.slice(0, comma).trimEnd();
    }
  }
  if (typeof host !== 'string') throw new InvalidRequestError('Invalid Host header');
  if (validHosts.has(host)) return host;
  if (!HOST.test(host) || Number(host.split(':').pop()) > 65535) throw new InvalidRequestError('Invalid Host header');
  if (validHosts.size >= 64) validHosts.clear();
  validHosts.add(host);
  return host;
}


type Location = 'header' | 'query' | 'body';

interface Found {
  token: string;
  location: Location;
  scheme: string | undefined;
}

/** The one token of the request (RFC 6750 §2), or the refusal that library gives. */
function findToken(req: Request, dpopEnabled: boolean): Found {
  const authorization = req.headers.authorization;
  let scheme: string | undefined;
  let fromHeader: string | undefined;
  if (typeof authorization === 'string') {
    const space = authorization.indexOf(' ');
    // Exactly two parts: one space, and not at either end.
    if (space <= 0 || space === authorization.length - 1 || authorization.indexOf(' ', space + 1) !== -1) {
      throw new InvalidRequestError('', false);
    }
    scheme = authorization.slice(0, space).toLowerCase();
    // That library's `^(Bearer|DPoP) (.+)$`, without running a pattern over the whole token:
    // a header value holds no line terminator, so everything after the one space is the token.
    if (scheme === 'bearer' || scheme === 'dpop') fromHeader = authorization.slice(space + 1);
  }
  const found: Found[] = [];
  if (fromHeader) found.push({ token: fromHeader, location: 'header', scheme });
  // Express parses the query string on every read of req.query: skip it when there is none.
  const query = (req.url ?? '').includes('?') ? (req.query as Record<string, unknown> | undefined) : undefined;
  if (typeof query?.access_token === 'string') found.push({ token: query.access_token, location: 'query', scheme });
  const body = req.body as Record<string, unknown> | undefined;
  const bodyToken = typeof body?.access_token === 'string' ? body.access_token : undefined;
  const urlencoded = bodyToken !== undefined && Boolean(req.is?.('urlencoded'));
  if (bodyToken !== undefined && urlencoded) found.push({ token: bodyToken, location: 'body', scheme });
  if (found.length === 0) {
    if (bodyToken !== undefined || (dpopEnabled && 'dpop' in req.headers) || typeof authorization === 'string') {
      throw new InvalidRequestError('', false);
    }
    throw new UnauthorizedError();
  }
  if (found.length > 1) throw new InvalidRequestError('More than one method used for authentication');
  return found[0] as Found;
}

/** The request-shape checks that come before the token is verified. */
function checkShape(req: Request, found: Found, settings: Settings): void {
  const { headers } = req;
  const { scheme } = found;
  if (settings.dpopEnabled && 'dpop' in headers && !('authorization' in headers)) throw new InvalidRequestError('', false);
  if (!settings.dpopEnabled) {
    if (scheme && scheme !== 'bearer') throw new InvalidRequestError('', false);
  } else if (settings.dpopRequired) {
    const { authorization, dpop } = headers;
    if (typeof authorization !== 'string') throw new InvalidRequestError('', false);
    if (!authorization.toLowerCase().startsWith('dpop ')) {
      if ('dpop' in headers) throw new InvalidRequestError('DPoP proof requires the DPoP authentication scheme, not Bearer');
      throw new InvalidRequestError('', false);
    }
    if (typeof dpop !== 'string' || dpop.length === 0) throw new InvalidRequestError('', false);
    if (dpop.includes(',')) throw new InvalidProofError('Multiple DPoP proofs are not allowed');
  } else if (scheme === 'dpop' && typeof headers.dpop !== 'string') {
    throw new InvalidRequestError('', false);
  }
}

/** The challenges that library sends when DPoP is on: Bearer and DPoP, the error on the scheme used. */
function withChallenges(error: unknown, settings: Settings, found: Found | undefined, scheme: string | undefined): unknown {
  if (!settings.dpopEnabled || !(error instanceof UnauthorizedError)) return error;
  const code = error.code;
  const named = typeof code === 'string' && code.length > 0;
  const bearer = (withError: boolean): string =>
    withError && code ? bearerChallenge(code, error.message) : 'Bearer realm="api"';
  const dpop = (withError: boolean): string =>
    withError && code
      ? `DPoP error="${code}", error_description="${error.message.replace(/"/g, "'")}", algs="${DPOP_ALGS_TEXT}"`
      : `DPoP algs="${DPOP_ALGS_TEXT}"`;
  let challenges: string[];
  if (settings.dpopRequired) challenges = [dpop(named)];
  else if (scheme === 'bearer') challenges = [bearer(named), dpop(false)];
  else if (scheme === 'dpop') challenges = [bearer(false), dpop(named)];
  else challenges = [bearer(found !== undefined && found.location !== 'header' ? named : false), dpop(false)];
  error.headers = { 'WWW-Authenticate': challenges.join(', ') };
  return error;
}

const headerMemo = new Map<string, JWTHeader>();

/** The protected header of a token the core has verified (so it is well-formed JSON). */
function headerOf(token: string): JWTHeader {
  const encoded = token.slice(0, token.indexOf('.'));
  let header = headerMemo.get(encoded);
  if (header === undefined) {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as JWTHeader;
    if (headerMemo.size >= 256) headerMemo.delete(headerMemo.keys().next().value as string);
    headerMemo.set(encoded, header);
  }
  return { ...header };
}

type Check = (value: unknown, payload: JWTPayload, header: JWTHeader) => boolean;

/**
 * The checks the core does not make, as that library makes them by default: `alg`, `typ`,
 * `iat`, and the types of `sub`, `client_id`, `jti`. `iss`, `aud`, `exp` and `nbf` were checked
 * in the core already.
 */
function defaultChecks(settings: Settings, tokenSigningAlg: string | undefined, allowedSigningAlgs: string[] | undefined): Record<string, Check> {
  const { strict, maxTokenAge, clockTolerance } = settings;
  const optionalString = (value: unknown): boolean => (value === undefined && !strict) || typeof value === 'string';
  return {
    alg: (alg) =>
      typeof alg === 'string' &&
      alg.toLowerCase() !== 'none' &&
      (!allowedSigningAlgs || allowedSigningAlgs.includes(alg)) &&
      (!tokenSigningAlg || alg === tokenSigningAlg),
    typ: (typ) => !strict || (typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt'),
    iat: (iat) => {
      if (!maxTokenAge) return (iat === undefined && !strict) || typeof iat === 'number';
      const now = Math.floor(Date.now() / 1000);
      return typeof iat === 'number' && iat < now + clockTolerance && iat > now - clockTolerance - maxTokenAge;
    },
    sub: optionalString,
    client_id: optionalString,
    jti: optionalString,
  };
}

async function runValidators(
  payload: JWTPayload,
  header: JWTHeader,
  checks: Record<string, Check>,
  custom: Partial<Record<string, Validator>>,
): Promise<void> {
  const all: Record<string, Validator | Check | undefined> = { ...checks, ...custom };
  for (const [key, validator] of Object.entries(all)) {
    if (validator === undefined || validator === false) continue;
    const value = key === 'alg' || key === 'typ' ? header[key] : payload[key];
    const ok = typeof validator === 'string' ? value === validator : await validator(value, payload, header);
    if (!ok) throw new InvalidTokenError(`Unexpected '${key}' value`);
  }
}

/** The same checks, without a promise, when no custom validator is given. */
function runDefaultChecks(payload: JWTPayload, header: JWTHeader, checks: Record<string, Check>): void {
  for (const key in checks) {
    const value = key === 'alg' || key === 'typ' ? header[key] : payload[key];
    if (!(checks[key] as Check)(value, payload, header)) throw new InvalidTokenError(`Unexpected '${key}' value`);
  }
}

/**
 * Express middleware that verifies the request's access token (from the `Authorization`
 * header, the `access_token` query parameter or an urlencoded body) and sets
 * `req.auth = { header, payload, token }`. Every refusal goes to `next(err)` with one of the
 * error classes of this module; with `authRequired: false` the request goes on without `req.auth`.
 */
export function auth(opts: AuthOptions = {}): Handler {
  const settings = settingsOf(opts);
  const authRequired = opts.authRequired !== false;
  const hasCustom = Object.keys(settings.validators).length > 0;
  const issuers = opts.mcd ? new Issuers(settings, opts.mcd) : undefined;
  const single = issuers
    ? undefined
    : new Trusted(settings, {
        issuerBaseURL: settings.issuerBaseURL,
        issuer: settings.issuer,
        jwksUri: settings.jwksUri,
        secret: settings.secret,
        alg: settings.tokenSigningAlg,
      });

  const ready = (req: Request, found: Found): Verifier | Promise<Verifier> => {
    if (single) return single.ready();
    const picked = (issuers as Issuers).pick(found.token, req);
    if (isThenable<Trusted>(picked)) return Promise.resolve(picked).then((trusted) => trusted.ready());
    return picked instanceof Trusted ? picked.ready() : picked;
  };

  const finish = async (found: Found, answer: string | Failure, ready: Verifier): Promise<AuthResult> => {
    if (typeof answer !== 'string') throw errorOf(answer);
    return complete(found, answer, ready);
  };

  const complete = (found: Found, answer: string, ready: Verifier): AuthResult | Promise<AuthResult> => {
    const payload = cachedClaims<JWTPayload>(answer);
    const header = headerOf(found.token);
    const result: AuthResult = { header, payload, token: found.token };
    const checks = ready.checksOf ? ready.checksOf(payload) : ready.checks;
    if (hasCustom) return runValidators(payload, header, checks, settings.validators).then(() => result);
    runDefaultChecks(payload, header, checks);
    return result;
  };

  const verify = (req: Request, found: Found, ready: Verifier): AuthResult | Promise<AuthResult> => {
    const { headers } = req;
    const { dpop } = headers;
    const withProof = settings.dpopEnabled && (dpop !== undefined || found.scheme === 'dpop' || settings.dpopRequired);
    const now = Date.now();
    let answer;
    if (found.location === 'header') {
      answer = withProof
        ? ready.verifiers.fromAuthorization(
            headers.authorization as string,
            now,
            undefined,
            undefined,
            undefined,
            req.method,
            `${req.protocol}://${hostOf(req)}${req.originalUrl ?? req.url}`,
            dpop,
          )
        : ready.verifiers.fromAuthorization(headers.authorization as string, now);
    } else {
      // A token outside the header is only known as a request's with its method, so that a
      // DPoP-bound one is refused without its proof.
      answer = ready.verifiers.fromToken(
        found.token,
        now,
        undefined,
        undefined,
        undefined,
        req.method,
        `${req.protocol}://${hostOf(req)}${req.originalUrl ?? req.url}`,
        dpop,
      );
    }
    if (answer === undefined) throw new InvalidRequestError('', false);
    if (typeof answer === 'string') return complete(found, answer, ready);
    if (isThenable<string | Failure>(answer)) return Promise.resolve(answer).then((settled) => finish(found, settled, ready));
    throw errorOf(answer);
  };

  return (req, _res, next) => {
    let found: Found | undefined;
    const refuse = (error: unknown): void => {
      if (!authRequired) {
        next();
        return;
      }
      const authorization = req.headers.authorization;
      const scheme = typeof authorization === 'string' ? authorization.split(' ')[0]?.toLowerCase() : undefined;
      next(withChallenges(error, settings, found, scheme));
    };
    try {
      hostOf(req);
    } catch (error) {
      // Refused before the token is looked at, with the bare challenge of the error itself.
      if (authRequired) next(error);
      else next();
      return;
    }
    try {
      if (typeof req.method !== 'string' || req.method.length === 0) throw new InvalidRequestError('Invalid HTTP method received in request');
      found = findToken(req, settings.dpopEnabled);
      checkShape(req, found, settings);
      const current = found;
      const instance = ready(req, current);
      const outcome = isThenable<Verifier>(instance)
        ? Promise.resolve(instance).then((resolved) => verify(req, current, resolved))
        : verify(req, current, instance);
      if (isThenable<AuthResult>(outcome)) {
        Promise.resolve(outcome).then(
          (result) => {
            req.auth = result;
            next();
          },
          refuse,
        );
        return;
      }
      req.auth = outcome;
    } catch (error) {
      refuse(error);
      return;
    }
    // A token verified before goes on in the check phase, as protectApi()'s does (see
    // ts/express): responses to the requests of one event-loop turn then go out together.
    inCheckPhase(next);
  };
}

/** Wraps a payload check as middleware reading `req.auth.payload`. */
function handler(check: (payload: JWTPayload | undefined) => void): Handler {
  return (req, _res, next) => {
    try {
      check(req.auth?.payload);
    } catch (error) {
      next(error);
      return;
    }
    next();
  };
}

function primitive(value: unknown): void {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && value !== null) {
    throw new TypeError("'expected' must be a string, number, boolean or null");
  }
}

/** The claim's values: a space-separated string split, an array as is, anything else none. */
function includes(payload: JWTPayload, claim: string, expected: readonly unknown[], all: boolean): boolean {
  if (!(claim in payload)) throw new InvalidTokenError(`Missing '${claim}' claim`);
  const actual = payload[claim];
  const values = typeof actual === 'string' ? actual.split(' ') : Array.isArray(actual) ? actual : undefined;
  if (values === undefined) return false;
  const set = new Set<unknown>(values);
  return all ? expected.every((value) => set.has(value)) : expected.some((value) => set.has(value));
}

type PayloadCheck = (payload: JWTPayload) => boolean;

function claimChecker(fn: PayloadCheck, message?: string): (payload: JWTPayload | undefined) => void {
  if (typeof fn !== 'function') throw new TypeError("'claimCheck' expects a function");
  return (payload) => {
    if (!payload) throw new UnauthorizedError();
    if (!fn(payload)) throw new InvalidTokenError(message);
  };
}

function scopeList(scopes: string | string[]): string[] {
  if (typeof scopes === 'string') return scopes.split(' ');
  if (!Array.isArray(scopes)) throw new TypeError("'scopes' must be a string or array of strings");
  return scopes;
}

function scopeCheck(scopes: string | string[], all: boolean): Handler {
  const list = scopeList(scopes);
  return handler(
    claimChecker((payload) => {
      if (!('scope' in payload)) throw new InsufficientScopeError(list, "Missing 'scope' claim");
      if (!includes(payload, 'scope', list, all)) throw new InsufficientScopeError(list);
      return true;
    }),
  );
}

/** Every one of the scopes (a space-separated string or an array) must be granted; else 403. */
export function requiredScopes(scopes: string | string[]): Handler {
  return scopeCheck(scopes, true);
}

/** At least one of the scopes must be granted; else 403. */
export function scopeIncludesAny(scopes: string | string[]): Handler {
  return scopeCheck(scopes, false);
}

/** The claim must equal `expected` (a JSON primitive); else 401 `invalid_token`. */
export function claimEquals(claim: string, expected: string | number | boolean | null): Handler {
  if (typeof claim !== 'string') throw new TypeError("'claim' must be a string");
  primitive(expected);
  return handler(
    claimChecker((payload) => {
      if (!(claim in payload)) throw new InvalidTokenError(`Missing '${claim}' claim`);
      return payload[claim] === expected;
    }, `Unexpected '${claim}' value`),
  );
}

/** The claim (an array, or a space-separated string) must include every expected value. */
export function claimIncludes(claim: string, ...expected: Array<string | number | boolean | null>): Handler {
  if (typeof claim !== 'string') throw new TypeError("'claim' must be a string");
  expected.forEach(primitive);
  return handler(claimChecker((payload) => includes(payload, claim, expected, true), `Unexpected '${claim}' value`));
}

/** `fn(payload)` must return true; else 401 `invalid_token` with `errMsg`. */
export function claimCheck(fn: (payload: JWTPayload) => boolean, errMsg?: string): Handler {
  return handler(claimChecker(fn, errMsg));
}
