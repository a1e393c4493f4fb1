// The `WWW-Authenticate` challenges this package writes (RFC 6750 §3, RFC 9470 §3), in one place
// so that every adapter and `validateRequest` answer the same bytes.
import type { StepUpOptions } from '../types.js';

/**
 * RFC 9470 §3: the step-up challenge names what the route asks of the user's authentication,
 * so the client can ask the authorization server for it (`acr_values`, `max_age`).
 */
export function stepUpChallenge(route: StepUpOptions | undefined): string {
  let challenge = 'Bearer error="insufficient_user_authentication"';
  const acrValues = route?.acrValues;
  if (acrValues !== undefined && acrValues.length > 0) challenge += `, acr_values="${quoted(acrValues.join(' '))}"`;
  if (route?.maxAge !== undefined) challenge += `, max_age="${Math.floor(route.maxAge)}"`;
  return challenge;
}

/** A quoted-string's content (RFC 9110 §5.6.4): `"` and `\` escaped, controls dropped. */
export function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '').replace(/(["\\])/g, '\\$1');
}
