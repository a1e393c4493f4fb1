import type { RequestDescription } from './core.js';
import type { ResponseDescription } from './responses.js';

/**
 * A web-standard `Request` in the protect core's terms. `Headers` joins repeated headers with
 * ", "; Node keeps only the first `Authorization` header, and a bearer token never holds a
 * comma, so the first value is the one read here too, as every other adapter reads it.
 */
export function describeFetchRequest<R>(request: R, fetchRequest: Request): RequestDescription<R> {
  const { headers } = fetchRequest;
  const authorization = headers.get('authorization');
  const comma = authorization === null ? -1 : authorization.indexOf(',');
  return {
    request,
    authorization: comma === -1 ? (authorization ?? undefined) : authorization?.slice(0, comma),
    dpop: headers.get('dpop') ?? undefined,
    method: fetchRequest.method,
    url: () => fetchRequest.url,
  };
}

/** A refusal as a web-standard `Response`, with the JSON body every other adapter sends. */
export function toWebResponse(response: ResponseDescription): Response {
  return new Response(JSON.stringify(response.body), {
    status: response.status,
    headers: { ...response.headers, 'content-type': 'application/json; charset=utf-8' },
  });
}
