/**
 * The public subpath `./internal`: upstream's low-level helpers (`@monocloud/backend-node/internal`
 * compatible), not this package's internals. Not meant for application
 * code, kept for programs that import them from upstream.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes as nodeRandomBytes, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';

import type { Jwk } from '../types.js';

/** Seconds since the epoch. */
export const now = (): number => Math.floor(Date.now() / 1000);

/** `true` or `false` (trimmed, any case); anything else is `undefined`. */
export function getBoolean(value?: string): boolean | undefined {
  const v = value?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** `parseInt(value, 10)` of the trimmed value (`'10s'` is 10); empty or not a number is `undefined`. */
export function getNumber(value?: string): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const parsed = parseInt(v, 10);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** A string secret holding a JWK as JSON (an object with a string `kty`) becomes that object. */
export function parseClientSecret(value?: string | Jwk): string | Jwk | undefined {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (isJsonObject<Record<string, unknown>>(parsed) && typeof parsed.kty === 'string') return parsed as Jwk;
  } catch {
    // Not JSON: a plain secret.
  }
  return value;
}

/** Booleans and numbers are present; strings when not blank. */
export function isPresent(value?: string | number | boolean | null): value is string | number | boolean {
  if (typeof value === 'boolean' || typeof value === 'number') return true;
  return typeof value === 'string' && value.trim().length > 0;
}

/** A plain object: not `null`, not an array. */
export function isJsonObject<T>(input: unknown): input is T {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/** base64 to base64url: `+/` become `-_`, padding is dropped. */
export const toB64Url = (input: string): string => input.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** base64url to padded base64. */
export function fromB64Url(input: string): string {
  const padded = input.length % 4 === 0 ? input : input + '==='.slice(0, 4 - (input.length % 4));
  return padded.replace(/-/g, '+').replace(/_/g, '/');
}

/** Decodes base64url to a binary (Latin-1) string, as `atob` does. */
export const decodeBase64Url = (input: string): string => atob(fromB64Url(input).replace(/\s/g, ''));

/** Unpadded base64url of the bytes. */
export function encodeBase64Url(input: Uint8Array | ArrayBuffer): string {
  return Buffer.from(input instanceof ArrayBuffer ? new Uint8Array(input) : input).toString('base64url');
}

/** Unpadded base64url of the bytes (the name is upstream's). */
export const arrayBufferToBase64 = (buffer: Uint8Array): string => encodeBase64Url(buffer);

/** UTF-8 bytes of a string. */
export const stringToArrayBuffer = (str: string): Uint8Array => new TextEncoder().encode(str);

/** The UTF-8 text of the bytes. */
export const arrayBufferToString = (buffer: ArrayBuffer | Uint8Array): string => new TextDecoder().decode(buffer);

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && nodeTimingSafeEqual(left, right);
}

/** base64url SHA-256 of the UTF-8 input. */
export const sha256 = async (input: string): Promise<string> => createHash('sha256').update(input, 'utf8').digest('base64url');

/** `length` random bytes as base64url. */
export const randomBytes = (length = 32): string => nodeRandomBytes(length).toString('base64url');

/** A whitespace-separated string as a list without empty entries. */
export const parseSpaceSeparated = (s?: string): string[] | undefined => s?.split(/\s+/).filter(Boolean);

/** A whitespace-separated string as a set. */
export const parseSpaceSeparatedSet = (s?: string): Set<string> => new Set(parseSpaceSeparated(s) ?? []);

/** Whether every member of `a` is in `b`, and (when `strict`) the sizes are equal. */
export function setsEqual(a: Set<string>, b: Set<string>, strict = true): boolean {
  if (strict && a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

/** The trimmed value with a leading `/`; blank stays as it is. */
export function ensureLeadingSlash(val?: string): string {
  const v = val?.trim();
  if (!v) return v as string;
  return v.startsWith('/') ? v : `/${v}`;
}

/** The trimmed value without one trailing `/`; blank stays as it is. */
export function removeTrailingSlash(val?: string): string {
  const v = val?.trim();
  if (!v) return v as string;
  return v.endsWith('/') ? v.slice(0, -1) : v;
}

/** Starts with `http://` or `https://`. */
export const isAbsoluteUrl = (url: string): boolean =>
  typeof url === 'string' && (url.startsWith('http://') || url.startsWith('https://'));

/** Both are URLs with the same origin. */
export function isSameHost(url: string, urlToCheck: string): boolean {
  try {
    return new URL(url).origin === new URL(urlToCheck).origin;
  } catch {
    return false;
  }
}
