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

/** Whether a factory was called as Koa or Hono middleware: `(context, next)`. */
export function isContextCall(first: unknown, second: unknown): boolean {
  if (typeof second !== 'function' || typeof first !== 'object' || first === null) return false;
  const context = first as Record<string, unknown>;
  const koa = typeof context.req === 'object' && typeof context.state === 'object' && typeof context.app === 'object';
  const hono = typeof context.req === 'object' && typeof context.json === 'function' && typeof context.newResponse === 'function';
  return koa || hono;
}

/** Whether a factory was called as `(request, response, ...)`. */
export function isRequestCall(first: unknown, second: unknown): boolean {
  return isRequestLike(first) && isResponseLike(second);
}

const warned = new Set<string>();

/**
 * One warning per adapter and kind of misuse for the life of the process, naming the adapter's
 * subpath (the same mistake reads the same in Express and Koa).
 */
export function warnMisuse(adapter: string, kind: string, message: string): void {
  const id = `${adapter}:${kind}`;
  if (warned.has(id)) return;
  warned.add(id);
  process.emitWarning(`@monocloud/backend-node-rs/${adapter}: ${message}`, { code: FACTORY_MISUSE_WARNING });
}
