// Values that may come from another realm. Under Jest's default environment the test code, and
// this package with it, runs in a `vm` context, while the addon's promises and errors and Node's
// own (fetch's TypeError) come from the main realm: `instanceof Promise` and `instanceof Error`
// are false for them. These checks go by shape, as `await` itself does.

/** Whether `value` is a promise (or any thenable) from any realm. */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The message of an error from any realm; `undefined` when `error` has none. */
export function messageOf(error: unknown): string | undefined {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : undefined;
}

// Read once, at load: fake timers a test installs later (Jest, Vitest, sinon) must neither stop
// nor fire early the timeouts that bound user callbacks, nor hold back a request the Express
// middleware continues in the check phase.
const { setTimeout: timerStart, clearTimeout: timerStop, setImmediate: checkPhase } = globalThis;
/** `setImmediate` as it was at load. */
export const inCheckPhase: typeof setImmediate = checkPhase;
export const startTimer = (run: () => void, ms: number): ReturnType<typeof setTimeout> => timerStart(run, ms);
export const stopTimer = (timer: ReturnType<typeof setTimeout> | undefined): void => timerStop(timer);
