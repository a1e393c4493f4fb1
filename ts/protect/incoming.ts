import type { IncomingHttpHeaders } from 'node:http';

import type { RequestDescription } from './core.js';

/**
 * A request read from Node's `IncomingMessage` headers, for the adapters over `node:http`
 * (Koa, plain Node, NestJS): Node has already kept only the first of duplicated
 * `Authorization` headers, as Express sees it.
 */
export function describeIncoming<R>(
  request: R,
  incoming: { headers: IncomingHttpHeaders; method?: string | undefined },
  url: () => string,
): RequestDescription<R> {
  return {
    request,
    authorization: incoming.headers.authorization,
    dpop: incoming.headers.dpop,
    method: incoming.method,
    url,
  };
}

/** The absolute URL of a plain `node:http` request, from its `Host` header. */
export function incomingUrl(incoming: {
  headers: IncomingHttpHeaders;
  url?: string | undefined;
  socket?: object | null;
}): string {
  // A TLS socket (node:https) says so; a plain one has no such property.
  const scheme = (incoming.socket as { encrypted?: unknown } | null | undefined)?.encrypted === true ? 'https' : 'http';
  return `${scheme}://${incoming.headers.host ?? ''}${incoming.url ?? '/'}`;
}
