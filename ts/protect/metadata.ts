// Serving the protected resource metadata (RFC 9728 §3): the document the client built at
// construction, at its well-known path, to anyone (no authentication), readable from browsers.
import { MonoCloudBackendNodeClient, protectedResourceOf } from '../client.js';
import { MonoCloudValidationError } from '../errors.js';
import type { ProtectApiOptions } from './types.js';

/** One answer of the metadata endpoint, in no framework's terms. */
export interface MetadataResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text; empty for HEAD and OPTIONS. */
  body: string;
}

/** Answers a request for the metadata, or `undefined` when the path is not the metadata's. */
export interface MetadataServer {
  (method: string | undefined, path: string): MetadataResponse | undefined;
  /** The path the metadata is served at. */
  path: string;
}

const ALLOW = 'GET, HEAD, OPTIONS';
const JSON_TYPE = 'application/json; charset=utf-8';

/** The server of a client (given, or made from options, as `protectApi` does). */
export function metadataServer<R>(clientOrOptions: MonoCloudBackendNodeClient | ProtectApiOptions<R> | undefined): MetadataServer {
  const client =
    clientOrOptions instanceof MonoCloudBackendNodeClient
      ? clientOrOptions
      : (() => {
          const { tokenResolver: _t, certificateResolver: _c, ...options } = (clientOrOptions ?? {}) as ProtectApiOptions<R>;
          return new MonoCloudBackendNodeClient(options);
        })();
  const resource = protectedResourceOf(client);
  if (!resource) {
    throw new MonoCloudValidationError('"protectedResource" must be configured to serve its metadata');
  }
  const { path, document } = resource;
  const length = String(Buffer.byteLength(document));
  const serve = (method: string | undefined, requestPath: string): MetadataResponse | undefined => {
    if (requestPath !== path) return undefined;
    switch (method?.toUpperCase()) {
      case 'GET':
      case 'HEAD':
        return {
          status: 200,
          headers: {
            'content-type': JSON_TYPE,
            'content-length': length,
            'access-control-allow-origin': '*',
            'cache-control': 'public, max-age=3600',
          },
          body: method.toUpperCase() === 'GET' ? document : '',
        };
      case 'OPTIONS':
        return {
          status: 204,
          headers: {
            'access-control-allow-origin': '*',
            'access-control-allow-methods': ALLOW,
            'access-control-allow-headers': '*',
            'access-control-max-age': '86400',
          },
          body: '',
        };
      default: {
        const body = '{"message":"method not allowed"}';
        return {
          status: 405,
          headers: { allow: ALLOW, 'content-type': JSON_TYPE, 'content-length': String(body.length) },
          body,
        };
      }
    }
  };
  return Object.assign(serve, { path });
}

/** The path of a request target, without its query. */
export function pathOf(target: string | undefined): string {
  const url = target ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
