// Failures are loud by default: when protectApi answers 500 or 503 because of the configuration
// or the issuer, the process hears of it once (`process.emitWarning`), even when nobody wrote an
// `onEvent` hook. Each cause is reported at most once a minute per client, so an outage under
// load is one line a minute, not one a request.
import type { MonoCloudBackendNodeClient } from '../client.js';
import { warnsFor } from '../client.js';
import { MonoCloudHttpError, MonoCloudOPError, MonoCloudValidationError } from '../errors.js';

export type WarningCode = 'MONOCLOUD_CONFIG_ERROR' | 'MONOCLOUD_ISSUER_ERROR';

const INTERVAL_MS = 60_000;
// Causes remembered per client; past it the oldest is forgotten (and may warn again).
const MAX_CAUSES = 64;

// Read once: test frameworks' fake timers replace `process.hrtime` and `performance.now`, and a
// rate limit must not stop (or flood) because a test froze or moved the wall clock.
const monotonicNow = ((hrtime) => (): number => Number(hrtime() / 1_000_000n))(process.hrtime.bigint.bind(process.hrtime));

const lastWarned = new WeakMap<MonoCloudBackendNodeClient, Map<string, number>>();

// OAuth errors by which the issuer says our own credentials or registration are wrong.
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'unsupported_token_type']);

/** The warning for an error that protectApi answered with `status`; `undefined` for none. */
export function warningFor(error: unknown, status: number): { code: WarningCode; message: string } | undefined {
  const answered = `MonoCloud: a protected request was answered ${status}`;
  if (error instanceof MonoCloudOPError) {
    const configuration = CLIENT_ERRORS.has(error.error);
    const http = error.raw?.status === undefined ? '' : ` (HTTP ${error.raw.status})`;
    return {
      code: configuration ? 'MONOCLOUD_CONFIG_ERROR' : 'MONOCLOUD_ISSUER_ERROR',
      message:
        `${answered}: the issuer refused the introspection request with "${printable(error.error)}"${http}.` +
        (configuration ? ' Check clientId, clientSecret and clientAuthMethod.' : ''),
    };
  }
  if (error instanceof MonoCloudHttpError) {
    return { code: 'MONOCLOUD_ISSUER_ERROR', message: `${answered}: ${ownPart(error.message)}` };
  }
  if (error instanceof MonoCloudValidationError) {
    return { code: 'MONOCLOUD_CONFIG_ERROR', message: `${answered}: ${ownPart(error.message)}` };
  }
  return undefined;
}

/**
 * Our messages name URLs, statuses and options, never a token or a secret; what follows " : " is
 * the issuer's own text (a `JSON.parse` error quotes the body it read), which is left out in case
 * the answer echoed the request.
 */
function ownPart(message: string): string {
  const cut = message.indexOf(' : ');
  // The HTTP client names the URL a second time in its own words.
  return printable(cut === -1 ? message : message.slice(0, cut)).replace(/error sending request for url \([^)]*\): /, '');
}

function printable(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Warns the process about `error`, answered with a 5xx, unless this cause was reported within the minute. */
export function warnAbout(client: MonoCloudBackendNodeClient, error: unknown, status: number): void {
  if (!warnsFor(client)) return;
  const warning = warningFor(error, status);
  if (warning === undefined) return;
  const cause = `${warning.code} ${warning.message}`;
  let causes = lastWarned.get(client);
  if (causes === undefined) {
    causes = new Map();
    lastWarned.set(client, causes);
  }
  const now = monotonicNow();
  const last = causes.get(cause);
  if (last !== undefined && now - last < INTERVAL_MS) return;
  causes.delete(cause);
  causes.set(cause, now);
  if (causes.size > MAX_CAUSES) causes.delete(causes.keys().next().value as string);
  process.emitWarning(warning.message, {
    type: 'MonoCloudWarning',
    code: warning.code,
    detail: 'Set warnings: false (or MONOCLOUD_BACKEND_WARNINGS=false) or an onEvent hook to turn these off.',
  });
}
