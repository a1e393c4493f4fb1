// Option names the package knows, and the one warning an unknown name gets. The original accepts
// (and ignores) unknown names, so they cannot throw; but a typo such as `audiense` or an option
// from another library such as `issuerBaseURL` silently leaves a setting at its default.

/**
 * The top-level client options, as `src/core/config/options.rs` lists them (a test keeps the two
 * in agreement).
 */
export const CLIENT_OPTION_NAMES: readonly string[] = [
  'tenantDomain',
  'audience',
  'issuer',
  'issuers',
  'audiences',
  'hmacSecret',
  'hmacAlg',
  'clientId',
  'clientSecret',
  'clientAuthMethod',
  'trustStoreId',
  'groupOptions',
  'clockSkew',
  'clockTolerance',
  'jwksCacheDuration',
  'metadataCacheDuration',
  'introspectJwtTokens',
  'validateCertificateBinding',
  'responseTimeout',
  'introspectionCacheDuration',
  'introspectionCacheMaxEntries',
  'tokenCacheMaxEntries',
  'staleIfErrorDuration',
  'tlsClientCertificate',
  'tlsClientKey',
  'fetcher',
  'metadataResolver',
  'jwksResolver',
  'cache',
  'onEvent',
  'warnings',
  'requireTokenType',
  'maxTokenAge',
  'challenge',
  'protectedResource',
  'dpop',
  'store',
  'storePrefix',
  'storeTimeout',
];

/** The options `new MonoCloudOidcBackendClient(tenantDomain, audience, options)` reads. */
export const OIDC_OPTION_NAMES: readonly string[] = CLIENT_OPTION_NAMES.filter(
  (name) => name !== 'tenantDomain' && name !== 'audience' && name !== 'validateCertificateBinding',
);

/** The options `protectApi()` reads itself, whatever the framework. */
export const PROTECT_API_OPTION_NAMES: readonly string[] = ['tokenResolver', 'certificateResolver'];

// Names other libraries use for the same setting, where spelling distance would mislead.
const ALIASES: Readonly<Record<string, string>> = {
  issuerbaseurl: 'tenantDomain',
  issuerurl: 'tenantDomain',
  tenanturl: 'tenantDomain',
  domain: 'tenantDomain',
  jwksuri: 'jwksResolver',
  secret: 'clientSecret',
  clockskew: 'clockSkew',
  clocktolerance: 'clockTolerance',
};

/** Levenshtein distance, case-insensitive: `Scopes` and `scopes` are neighbours. */
function distance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = previous[j - 1] + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length];
}

/** The known name closest to `name` (an alias first, then the smallest edit distance). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const alias = ALIASES[name.toLowerCase()];
  if (alias !== undefined && known.includes(alias)) return alias;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Every own enumerable key of `options` that is not in `known`. */
export function unknownKeys(options: object, known: readonly string[]): string[] {
  return Object.keys(options).filter((key) => !known.includes(key));
}

// Options objects a caller has already checked against a wider list (`protectApi()` checks its
// options, then builds the client from what is left): the client does not warn again.
const checked = new WeakSet<object>();

/** Marks `options` as checked, so a client built from it does not warn about the same names. */
export function alreadyChecked<T extends object>(options: T): T {
  checked.add(options);
  return options;
}

// One warning per place and name for the life of the process: a client built per request (or
// per test) must not flood the logs.
const warned = new Set<string>();

/** The warning code of an unknown option name, for `process.on('warning')` filters. */
export const UNKNOWN_OPTION_WARNING = 'MONOCLOUD_UNKNOWN_OPTION';

/**
 * Emits one process warning for each unknown key of `options`, naming the closest known option.
 * Nothing else changes: the options are used as they are.
 */
export function warnUnknownOptions(
  options: unknown,
  known: readonly string[],
  where: string,
  elsewhere?: { names: readonly string[]; hint: string },
): void {
  if (typeof options !== 'object' || options === null || checked.has(options)) return;
  for (const key of unknownKeys(options, known)) {
    const id = `${where}\u0000${key}`;
    if (warned.has(id)) continue;
    warned.add(id);
    // An option that belongs somewhere else says where, rather than a far-fetched neighbour.
    const closest = closestName(key, known);
    const hint = elsewhere?.names.includes(key)
      ? ` ${elsewhere.hint}`
      : closest === undefined
        ? ''
        : ` Did you mean "${closest}"?`;
    process.emitWarning(`${where}: unknown option "${key}" is ignored.${hint}`, {
      code: UNKNOWN_OPTION_WARNING,
      detail: `Known options: ${known.join(', ')}.`,
    });
  }
  warnIgnoredGroupOptions(options as Record<string, unknown>, known, where);
}

// The original reads `groupOptions` member by member, so a value that is not an object is
// accepted and silently means the defaults; we keep accepting it, but say so once.
function warnIgnoredGroupOptions(options: Record<string, unknown>, known: readonly string[], where: string): void {
  const value = options.groupOptions;
  if (!known.includes('groupOptions') || value === undefined || value === null || typeof value === 'object') return;
  const id = `${where}\u0000groupOptions:type`;
  if (warned.has(id)) return;
  warned.add(id);
  process.emitWarning(
    `${where}: option "groupOptions" must be { groupsClaim?: string, matchAll?: boolean }, not ${typeof value}; it is ignored.`,
    { code: UNKNOWN_OPTION_WARNING },
  );
}
