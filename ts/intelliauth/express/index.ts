/**
 * `@monocloud/backend-node-rs/intelliauth/express`: IntelliAuth's `requireSession` middleware
 * (seed 004), with `req.user` typed as {@link IntelliAuthUser}.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, Response } from 'express';

import { MonoCloudOidcBackendClient } from '../../client.js';
import { MonoCloudHttpError, MonoCloudTokenError, MonoCloudValidationError } from '../../errors.js';
import { getBearerToken } from '../../native/index.js';
import { tenantBase } from '../management.js';
import type { IntelliAuthUser, RequireSessionOptions } from '../types.js';

export type { IntelliAuthUser, RequireSessionOptions } from '../types.js';

declare global {
  // Express's own declaration merging point for request members.
  namespace Express {
    interface Request {
      /** The verified claims, on routes behind `requireSession`. */
      user: IntelliAuthUser;
    }
  }
}

/** A compact JWS: three base64url segments. Anything else is an opaque token. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** RFC 6750 §3: `error_description` is printable ASCII without `"` and `\`. */
const headerSafe = (text: string): string => text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ');

function refuse(res: Response, status: number, error: string, description: string): void {
  if (status === 401) {
    res.setHeader(
      'WWW-Authenticate',
      error === 'invalid_token' ? `Bearer error="invalid_token", error_description="${headerSafe(description)}"` : 'Bearer',
    );
  }
  res.status(status).json({ error, error_description: description });
}

/**
 * Express middleware that lets a request through only with a valid bearer token for
 * `audience` from `tenantUrl`, and puts its verified claims on `req.user`. Mount it app-wide
 * (`app.use(requireSession(...))`) or per route. Without a valid token the answer is 401; when
 * the tenant cannot be reached, 503; when it refuses the check itself, 500.
 */
export function requireSession(options: RequireSessionOptions): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  if (!options || typeof options !== 'object') {
    throw new MonoCloudValidationError('requireSession needs an options object');
  }
  const { audience, checkRevocation = false, clientId, clientSecret, clientAuthMethod } = options;
  if (typeof audience !== 'string' || audience.trim() === '') {
    throw new MonoCloudValidationError('"audience" must be a non-empty string');
  }
  if (checkRevocation && !clientId) {
    throw new MonoCloudValidationError('checkRevocation needs the clientId (and clientSecret) of a client that may introspect');
  }
  const client = new MonoCloudOidcBackendClient(tenantBase(options.tenantUrl), audience, {
    // The positional client has no timeout by default; a middleware must not wait forever.
    responseTimeout: 10_000,
    ...(clientId === undefined ? {} : { clientId }),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...(clientAuthMethod === undefined ? {} : { clientAuthMethod }),
  });
  const canIntrospect = clientId !== undefined && clientId !== '';

  return async (req, res, next) => {
    let token: string | undefined;
    try {
      token = getBearerToken(req.headers.authorization);
    } catch {
      token = undefined;
    }
    if (!token) {
      refuse(res, 401, 'unauthorized', 'A bearer token is required');
      return;
    }
    let user: IntelliAuthUser;
    try {
      if (JWT_SHAPE.test(token)) {
        user = (await client.validateJwtAccessToken(token)) as IntelliAuthUser;
        // A verified JWT is revoked only if the tenant says so now.
        if (checkRevocation) await client.introspectAccessToken(token);
      } else if (canIntrospect) {
        user = (await client.introspectAccessToken(token)) as IntelliAuthUser;
      } else {
        refuse(res, 401, 'invalid_token', 'The token is not a JWT and introspection is not configured');
        return;
      }
    } catch (error) {
      if (error instanceof MonoCloudTokenError) {
        refuse(res, 401, 'invalid_token', error.message);
      } else if (error instanceof MonoCloudHttpError) {
        res.setHeader('Retry-After', '5');
        refuse(res, 503, 'temporarily_unavailable', 'The tenant could not be reached to check the token');
      } else {
        // The tenant refused the check itself (MonoCloudOPError: the introspecting client's
        // credentials), or the configuration is wrong: the server's problem, not the caller's.
        refuse(res, 500, 'server_error', 'The token could not be checked');
      }
      return;
    }
    req.user = user;
    next();
  };
}
