// `app.use(protect)` for `app.use(protect())`, or `app.use(protectApi)`: the factory is handed
// a request where it expects options. It used to return a middleware nobody called, so the
// request hung. The adapters now recognise the call and protect the request as `protect()`
// would, with one warning that says how to write it.

/** The code of the warning a misused factory gets, for `process.on('warning')` filters. */
export const FACTORY_MISUSE_WARNING = 'MONOCLOUD_PROTECT_FACTORY_MISUSE';

/** Whether `value` is a framework's request object rather than options. */
export function isRequestLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const request = value as { headers?: unknown; method?: unknown };
  return typeof request.headers === 'object' && request.headers !== null && typeof request.method === 'string';
}

/** Whether `value` is a framework's response or reply object. */
export function isResponseLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const response = value as Record<string, unknown>;
  return ['send', 'setHeader', 'header', 'writeHead'].some((name) => typeof response[name] === 'function');
}

/** Whether a factory was called as `(request, response, ...)`. */
export function isRequestCall(first: unknown, second: unknown): boolean {
  return isRequestLike(first) && isResponseLike(second);
}

const warned = new Set<string>();

/** One warning per kind of misuse for the life of the process. */
export function warnMisuse(kind: string, message: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  process.emitWarning(message, { code: FACTORY_MISUSE_WARNING });
}
