// `app.use(protect)` for `app.use(protect())`, or `app.use(protectApi)`: the factory is handed
// a request where it expects options. It used to return a middleware nobody called, so the
// request hung. The adapters now recognise the call and protect the request as `protect()`
// would, with one warning that says how to write it. The adapters share that handling here and
// give only what is theirs: how the framework calls a handler, and what to write instead.
import { checkRouteOptions } from './route-options.js';

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

/** What an adapter tells the shared handling of a factory mounted where its product belongs. */
export interface MisuseSpec<H extends (...args: never[]) => unknown> {
  /** The subpath the warnings name, e.g. `'koa'`. */
  adapter: string;
  /** Whether a factory's arguments are the framework calling a handler, not options. */
  isHandlerCall(first: unknown, second: unknown): boolean;
  /** How `protectApi` is meant to be used, ending with what was written instead. */
  protectApiUsage: string;
  /** How the factory `protectApi()` returns is meant to be used, likewise. */
  factoryUsage: string;
  /** The handler `protect()` gives, over a client configured from the environment alone. */
  handlerFromEnvironment(): H;
  /**
   * Answers the request itself (500) when the environment cannot configure a client. Without
   * it the construction error goes to the framework, whose error handling answers.
   */
  answerUnconfigured?(...args: Parameters<H>): void | Promise<void>;
}

/** The misuse handling of one adapter, made once per module. */
export interface Misuse<H extends (...args: never[]) => unknown> {
  /** Whether `protectApi` itself was called by the framework as the handler. */
  isHandlerCall(first: unknown, second: unknown): boolean;
  /** `protectApi` itself as the handler: the request is protected by a client from the environment. */
  protectApiAsHandler(args: unknown[]): unknown;
  /**
   * The `protect()` factory over `handlerFor`: checks a route's options where the route is
   * defined, and answers a request as `protect()` would when the framework calls it directly.
   */
  factory<O, F extends H>(handlerFor: (options: O | undefined) => F): (options?: O, ...more: unknown[]) => F;
}

const PROTECTED_AS_FROM_ENVIRONMENT = 'Requests are protected as protect() would, with a client from the environment.';
const PROTECTED_AS_PROTECT = 'Requests are protected as protect() would.';

export function misuseHandling<H extends (...args: never[]) => unknown>(spec: MisuseSpec<H>): Misuse<H> {
  type Call = (...args: unknown[]) => unknown;
  // Every request that reaches `protectApi` itself shares one client, built on the first.
  let fromEnvironment: H | undefined;
  return {
    isHandlerCall: spec.isHandlerCall,
    protectApiAsHandler(args) {
      if (spec.answerUnconfigured === undefined) {
        warnMisuse(spec.adapter, 'protectApi', `${spec.protectApiUsage} ${PROTECTED_AS_FROM_ENVIRONMENT}`);
        fromEnvironment ??= spec.handlerFromEnvironment();
        return (fromEnvironment as unknown as Call)(...args);
      }
      try {
        fromEnvironment ??= spec.handlerFromEnvironment();
      } catch (error) {
        warnMisuse(
          spec.adapter,
          'protectApi-failed',
          `${spec.protectApiUsage} Building a client from the environment failed: ${String(error)}`,
        );
        return Promise.resolve((spec.answerUnconfigured as unknown as Call)(...args));
      }
      warnMisuse(spec.adapter, 'protectApi', `${spec.protectApiUsage} ${PROTECTED_AS_FROM_ENVIRONMENT}`);
      return (fromEnvironment as unknown as Call)(...args);
    },
    factory<O, F extends H>(handlerFor: (options: O | undefined) => F) {
      let asProtect: F | undefined;
      return function protect(options?: O, ...more: unknown[]): F {
        if (spec.isHandlerCall(options, more[0])) {
          // The framework hands the factory its request; answer it as protect() would.
          warnMisuse(spec.adapter, 'factory', `${spec.factoryUsage} ${PROTECTED_AS_PROTECT}`);
          asProtect ??= handlerFor(undefined);
          return (asProtect as unknown as Call)(options, ...more) as F;
        }
        checkRouteOptions(options, 'protect(options)');
        return handlerFor(options);
      };
    },
  };
}
