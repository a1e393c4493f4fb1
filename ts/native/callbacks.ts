// Adapters around user callbacks, called from Rust with JSON text and answering with a JSON
// envelope: {"ok": value}, or {"err": id} when the callback threw. What it threw is kept here
// under that id, so the caller gets the very same value back.
import type { IIntrospectionCache, MonoCloudBackendNodeClientOptions, MonoCloudEvent } from '../types.js';
import { messageOf, startTimer, stopTimer } from './realm.js';
import { storeAdapters } from './store.js';

type Adapter = (request: string) => Promise<string>;

export interface Callbacks {
  event?: (event: string) => void;
  fetch?: Adapter;
  metadata?: Adapter;
  jwks?: Adapter;
  cacheGet?: Adapter;
  cacheSet?: Adapter;
  dpopReserve?: Adapter;
  storeCommand?: Adapter;
  storeListen?: Adapter;
}

// Bounded: an id is read by every caller that shared the failing call (single flight), so
// entries are not removed on first read but simply age out.
const MAX_KEPT = 256;
const thrown = new Map<string, unknown>();
let lastId = 0;

function keep(error: unknown): string {
  const id = String(++lastId);
  thrown.set(id, error);
  if (thrown.size > MAX_KEPT) thrown.delete(thrown.keys().next().value as string);
  return id;
}

/** What a callback threw, by the id Rust reported. */
export function thrownBy(id: string): unknown {
  return thrown.has(id) ? thrown.get(id) : new Error('A callback failed');
}

const ok = (value: unknown): string => JSON.stringify({ ok: value ?? null });

function guarded(run: (request: string) => Promise<unknown>): Adapter {
  return async (request) => {
    try {
      return ok(await run(request));
    } catch (error) {
      return JSON.stringify({ err: keep(error) });
    }
  };
}

interface FetchRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  timeout: number | null;
}

const TIMED_OUT = ok({ timedOut: true });

/**
 * Calls the user's fetcher as upstream does — `fetcher(url, {})` for GET, `fetcher(url,
 * { method, body, headers })` for POST, plus `signal` when there is a timeout — and reads the
 * answer within that same timeout. A fetcher (or a body) that ignores the signal and never
 * settles is left behind when the time is up: the exchange counts as timed out all the same.
 */
function fetchAdapter(fetcher: typeof fetch): Adapter {
  return async (text) => {
    const request = JSON.parse(text) as FetchRequest;
    const controller = request.timeout && request.timeout > 0 ? new AbortController() : undefined;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = controller
      ? new Promise<string>((resolve) => {
          timer = startTimer(() => {
            timedOut = true;
            controller.abort();
            resolve(TIMED_OUT);
          }, request.timeout as number);
        })
      : undefined;
    const exchange = (async () => {
      try {
        const init: RequestInit =
          request.method === 'POST' ? { method: 'POST', body: request.body ?? '', headers: request.headers } : {};
        if (controller) init.signal = controller.signal;
        const response = await fetcher(request.url, init);
        // Answered after the time was up: nobody reads this any more.
        if (timedOut) {
          // A fetcher's own Response type may have a body without `cancel`.
          if (typeof response.body?.cancel === 'function') response.body.cancel().catch(() => {});
          return TIMED_OUT;
        }
        const body = await response.text();
        const headers: Array<[string, string]> = [];
        response.headers.forEach((value, name) => {
          if (name.toLowerCase() !== 'set-cookie') headers.push([name.toLowerCase(), value]);
        });
        return ok({ status: response.status, statusText: response.statusText, headers, body });
      } catch (error) {
        if (timedOut) return TIMED_OUT;
        const message = messageOf(error) || 'Unexpected Network Error';
        return ok({ failed: message });
      }
    })();
    try {
      return await (deadline ? Promise.race([exchange, deadline]) : exchange);
    } finally {
      stopTimer(timer);
    }
  };
}

function cacheAdapters(cache: IIntrospectionCache): Pick<Callbacks, 'cacheGet' | 'cacheSet'> {
  return {
    cacheGet: guarded(async (text) => cache.get((JSON.parse(text) as { key: string }).key)),
    cacheSet: guarded(async (text) => {
      const { key, value, expiresAt } = JSON.parse(text) as { key: string; value: never; expiresAt: number };
      await cache.set(key, value, expiresAt);
    }),
  };
}

/** A hook that throws must not disturb validation; what it throws is reported, not lost. */
function eventAdapter(
  onEvent: ((event: MonoCloudEvent) => void) | undefined,
  onRevoked: MonoCloudBackendNodeClientOptions['onRevoked'],
): (text: string) => void {
  return (text) => {
    const event = JSON.parse(text) as MonoCloudEvent;
    try {
      onEvent?.(event);
    } catch (error) {
      process.emitWarning(`onEvent threw: ${messageOf(error) ?? String(error)}`);
    }
    if (event.type === 'revoked' && onRevoked) {
      try {
        onRevoked({ by: event.by, origin: event.origin });
      } catch (error) {
        process.emitWarning(`onRevoked threw: ${messageOf(error) ?? String(error)}`);
      }
    }
  };
}

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

/**
 * The object's own `introspectAccessToken` as Rust calls it around the introspection cache (see
 * src/napi/through.rs): an `inactive_token` error is marked so that the cache remembers it.
 */
export function introspectionAdapter(introspect: () => Promise<unknown>): Adapter {
  return async () => {
    try {
      return ok(await introspect());
    } catch (error) {
      const inactive = (error as { code?: unknown } | null)?.code === 'inactive_token';
      return JSON.stringify({ err: keep(error), inactive });
    }
  };
}

/**
 * A resolver called for one issuer: with `issuers` the core names it, and the resolver is given
 * its URL; the single tenant's resolver is called without arguments, as the original calls it.
 */
function resolveFor<T>(resolver: (issuer?: string) => T, request: string): T {
  const issuer = (JSON.parse(request) as { issuer?: unknown }).issuer;
  return typeof issuer === 'string' ? resolver(issuer) : resolver();
}

/** The adapters for whatever callbacks `options` configures (shape checks happen in Rust). */
export function callbacksFor(options: Partial<MonoCloudBackendNodeClientOptions> | undefined): Callbacks {
  const callbacks: Callbacks = {};
  if (!options || typeof options !== 'object') return callbacks;
  const { fetcher, metadataResolver, jwksResolver, cache, onEvent, onRevoked, dpop } = options;
  // A client object as `store` (a URL is Rust's alone); one Rust does not get adapters for is refused there.
  const sharedStore = (options as { store?: unknown }).store;
  if (sharedStore && typeof sharedStore === 'object') Object.assign(callbacks, storeAdapters(sharedStore));
  if (isFunction(onEvent) || isFunction(onRevoked)) {
    callbacks.event = eventAdapter(isFunction(onEvent) ? onEvent : undefined, isFunction(onRevoked) ? onRevoked : undefined);
  }
  if (isFunction(fetcher)) callbacks.fetch = fetchAdapter(fetcher);
  if (isFunction(metadataResolver)) callbacks.metadata = guarded(async (request) => resolveFor(metadataResolver, request));
  if (isFunction(jwksResolver)) callbacks.jwks = guarded(async (request) => resolveFor(jwksResolver, request));
  if (cache && typeof cache === 'object' && isFunction(cache.get) && isFunction(cache.set)) {
    Object.assign(callbacks, cacheAdapters(cache));
  }
  const store = dpop && typeof dpop === 'object' ? dpop.replayStore : undefined;
  if (store && typeof store === 'object' && isFunction(store.reserve)) {
    // Called as a method, so a class instance keeps its `this`.
    callbacks.dpopReserve = guarded(async (text) => {
      const { key, expiresAt } = JSON.parse(text) as { key: string; expiresAt: number };
      return store.reserve(key, expiresAt);
    });
  }
  return callbacks;
}
