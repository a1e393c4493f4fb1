/**
 * The token of an `Authorization: Bearer <token>` header value, or `undefined` when there is
 * none. The scheme is case-insensitive; anything but exactly scheme and token is no token.
 * A header that is present but not a string (a framework bug or a test double) throws, so the
 * adapters answer 401 `invalid_token` rather than treating it as anonymous.
 */
export function getBearerToken(header: unknown): string | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  if (typeof header !== 'string') throw new TypeError('The Authorization header must be a string');
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  return parts[1];
}
