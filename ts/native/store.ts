// The user's own Redis/Valkey client as the fleet's store (`store: client`). Rust decides every
// command and bounds every call by `storeTimeout` (src/store/mod.rs); this file only drives the
// client: one command at a time, and a subscription on a connection duplicated from it (a
// subscribed connection takes no other command). The client stays theirs: its authentication,
// TLS, sentinel setup and reconnection apply unchanged, and it is never closed here.
import { messageOf, startTimer, stopTimer } from './realm.js';

type Adapter = (request: string) => Promise<string>;

/** What a node-redis client (`createClient()` from `redis`, v4 to v6) offers that we use. */
interface NodeRedisClient {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  unref?(): void;
  destroy?(): unknown;
  disconnect?(): Promise<unknown>;
}

/** What an ioredis client (`new Redis()`) offers that we use. */
interface IoRedisClient {
  readonly status: string;
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(override?: Record<string, unknown>): IoRedisClient;
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  disconnect(): void;
  readonly stream?: { unref?(): void };
}

type Driven = { kind: 'node-redis'; client: NodeRedisClient } | { kind: 'ioredis'; client: IoRedisClient };

const hasFunctions = (value: object, names: string[]): boolean =>
  names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

/**
 * Which client `store` is, when it is one we can drive. A node-redis cluster (its
 * `sendCommand` takes a routing key first) and anything else are not: Rust then refuses the
 * option with a message naming what is taken.
 */
export function recognise(store: unknown): Driven | undefined {
  if (!store || typeof store !== 'object') return undefined;
  const shared = ['duplicate', 'connect', 'subscribe', 'on', 'once'];
  const probe = store as Record<string, unknown>;
  if (typeof probe.status === 'string' && hasFunctions(store, ['call', 'disconnect', ...shared])) {
    return { kind: 'ioredis', client: store as IoRedisClient };
  }
  if (typeof probe.isReady === 'boolean' && !('masters' in store) && hasFunctions(store, ['sendCommand', ...shared])) {
    return { kind: 'node-redis', client: store as NodeRedisClient };
  }
  return undefined;
}

/** In the callbacks' envelope (src/core/callbacks.rs): what the store reads is inside `ok`. */
const answer = (value: Record<string, unknown>): string => JSON.stringify({ ok: value });

const ready = (driven: Driven): boolean =>
  driven.kind === 'ioredis' ? driven.client.status === 'ready' : driven.client.isReady;

/** A timer that never keeps the process alive by itself (the user's client decides that). */
function unrefTimer(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = startTimer(run, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** How long a subscription may take to open here (Rust's own bound is a little longer). */
const SUBSCRIBE_MS = 1_500;
/** How long `next` waits for a message before answering with none. */
const NEXT_MS = 500;
/** Messages kept between two `next` calls, at most (revocations are rare; this is a fuse). */
const MAX_QUEUED = 10_000;

/**
 * `storeCommand`: `{ args }` → `{ reply }` or `{ error }`. A client that is not connected
 * fails at once, as our own connection does while it reconnects, instead of queueing the
 * command for later: a request never waits on a store that is away.
 */
function commandAdapter(driven: Driven): Adapter {
  return async (text) => {
    const { args } = JSON.parse(text) as { args: string[] };
    if (!ready(driven)) return answer({ error: 'the store client is not connected' });
    try {
      const reply =
        driven.kind === 'ioredis'
          ? await driven.client.call(args[0] as string, ...args.slice(1))
          : await driven.client.sendCommand(args);
      return answer({ reply: reply ?? null });
    } catch (error) {
      return answer({ error: messageOf(error) ?? 'the store client failed' });
    }
  };
}

/** The subscription on a duplicated connection: opened on `subscribe`, drained by `next`. */
class Subscriber {
  private connection: NodeRedisClient | IoRedisClient | undefined;
  private queue: string[] = [];
  private lost = false;
  private wake: (() => void) | undefined;

  constructor(private readonly driven: Driven) {
    // The user closing their client ends ours too, so it never keeps the process alive.
    driven.client.once('end', () => this.close());
  }

  private receive(message: unknown): void {
    if (typeof message === 'string' && this.queue.length < MAX_QUEUED) this.queue.push(message);
    this.wake?.();
  }

  private lose(): void {
    this.lost = true;
    this.wake?.();
  }

  async subscribe(channel: string): Promise<string> {
    this.close();
    // Nothing is duplicated from a client that is away: Rust asks again after a pause.
    if (!ready(this.driven)) return answer({ error: 'the store client is not connected' });
    this.lost = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const opening = this.open(channel);
    const late = new Promise<never>((_, reject) => {
      timer = unrefTimer(() => reject(new Error('the store client did not subscribe in time')), SUBSCRIBE_MS);
    });
    try {
      await Promise.race([opening, late]);
      return answer({ reply: null });
    } catch (error) {
      opening.catch(() => {});
      this.close();
      return answer({ error: messageOf(error) ?? 'the store client could not subscribe' });
    } finally {
      stopTimer(timer);
    }
  }

  private async open(channel: string): Promise<void> {
    // A connection closed by `close()` reports its end later: only the current one counts.
    const loseIfCurrent = (connection: unknown) => () => {
      if (this.connection === connection) this.lose();
    };
    if (this.driven.kind === 'ioredis') {
      // Not connected until asked, so that its listeners are in place first; no retries of
      // its own: a lost subscription is opened again from Rust, which reads what it missed.
      const connection = this.driven.client.duplicate({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      this.connection = connection;
      const lose = loseIfCurrent(connection);
      connection.on('error', () => {});
      connection.on('close', lose);
      connection.on('end', lose);
      connection.on('message', ((_channel: string, message: string) => this.receive(message)) as never);
      connection.on('ready', () => connection.stream?.unref?.());
      await connection.connect();
      connection.stream?.unref?.();
      await connection.subscribe(channel);
    } else {
      const connection = this.driven.client.duplicate();
      this.connection = connection;
      const lose = loseIfCurrent(connection);
      connection.on('error', lose);
      connection.on('reconnecting', lose);
      connection.on('end', lose);
      // Before connecting, so that its socket never holds the process open.
      connection.unref?.();
      await connection.connect();
      await connection.subscribe(channel, (message) => this.receive(message));
    }
  }

  /** `{ messages }` (perhaps none, after a short wait), or `{ ended: true }` once it is lost. */
  async next(): Promise<string> {
    if (!this.lost && this.queue.length === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = unrefTimer(resolve, NEXT_MS);
      });
      stopTimer(timer);
      this.wake = undefined;
    }
    if (this.queue.length > 0) return answer({ messages: this.queue.splice(0) });
    return this.lost || !this.connection ? answer({ ended: true }) : answer({ messages: [] });
  }

  close(): void {
    const connection = this.connection;
    this.connection = undefined;
    this.queue = [];
    this.lose();
    if (!connection) return;
    try {
      if (this.driven.kind === 'ioredis') (connection as IoRedisClient).disconnect();
      else {
        const client = connection as NodeRedisClient;
        // node-redis v5 and later: destroy(); v4: disconnect().
        const closing = typeof client.destroy === 'function' ? client.destroy() : client.disconnect?.();
        (closing as Promise<unknown> | undefined)?.catch?.(() => {});
      }
    } catch {
      // Already closed.
    }
  }
}

function listenAdapter(driven: Driven): Adapter {
  const subscriber = new Subscriber(driven);
  return async (text) => {
    const request = JSON.parse(text) as { op: 'subscribe' | 'next' | 'close'; channel?: string };
    if (request.op === 'subscribe') return subscriber.subscribe(request.channel ?? '');
    if (request.op === 'next') return subscriber.next();
    subscriber.close();
    return answer({ reply: null });
  };
}

/** The adapters Rust drives the user's client through, when `store` is one we recognise. */
export function storeAdapters(store: unknown): { storeCommand: Adapter; storeListen: Adapter } | undefined {
  const driven = recognise(store);
  if (!driven) return undefined;
  return { storeCommand: commandAdapter(driven), storeListen: listenAdapter(driven) };
}
