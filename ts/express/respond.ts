import type { ResponseDescription } from '../protect/responses.js';
import type { ClaimCheckResponse } from '../protect/types.js';

/**
 * Writes a refusal through Express's response API. Once something else has answered there is
 * nothing left to say, and throwing would hand Express 5 an error for `next(err)`.
 */
export function writeExpressResponse(res: ClaimCheckResponse, response: ResponseDescription): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(response.headers)) res.set(name, value);
  res.status(response.status).json(response.body);
}
