// The verifier the MCP TypeScript SDK's `requireBearerAuth({ verifier })` calls, over our client.
// The SDK maps its own error classes to HTTP answers by `instanceof`, so they are handed in by
// the entry point of the module system the application uses (index.ts for CommonJS, index.mts
// for ES modules): one package published twice has two sets of classes.
import { MonoCloudBackendNodeClient, protectedResourceOf } from '../client.js';
import { MonoCloudTokenError } from '../errors.js';
import type { ProtectApiOptions } from '../protect/types.js';
import type { AccessTokenClaims, ValidateAccessTokenOptions } from '../types.js';

/** The SDK's `AuthInfo`, as it types it. */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

/** What `requireBearerAuth({ verifier })` calls. */
export interface McpTokenVerifier {
  verifyAccessToken(token: string): Promise<McpAuthInfo>;
}

/** What every call asks of a token, as `validateAccessToken` takes it (without a certificate). */
export type McpVerifierOptions = Omit<ValidateAccessTokenOptions, 'clientCertificate'>;

/** The SDK's error classes the verifier throws. */
export interface McpErrors {
  InvalidTokenError: new (message: string) => Error;
  InsufficientScopeError: new (message: string) => Error;
  ServerError: new (message: string) => Error;
}

export function createVerifier(
  errors: McpErrors,
  clientOrOptions: MonoCloudBackendNodeClient | ProtectApiOptions<unknown> | undefined,
  options: McpVerifierOptions | undefined,
): McpTokenVerifier {
  const client =
    clientOrOptions instanceof MonoCloudBackendNodeClient
      ? clientOrOptions
      : (() => {
          const { tokenResolver: _t, certificateResolver: _c, ...clientOptions } = (clientOrOptions ?? {}) as ProtectApiOptions<unknown>;
          return new MonoCloudBackendNodeClient(clientOptions);
        })();
  const resourceText = configuredResource(client);
  return {
    async verifyAccessToken(token) {
      let claims: AccessTokenClaims;
      try {
        claims = await client.validateAccessToken(token, options);
      } catch (error) {
        // Fixed messages: the SDK puts them in its answer, and they must say nothing of the token.
        if (error instanceof MonoCloudTokenError) {
          if (error.code === 'insufficient_scope' || error.code === 'insufficient_groups') {
            throw new errors.InsufficientScopeError('The access token does not grant what this resource requires');
          }
          throw new errors.InvalidTokenError('The access token is missing, invalid, expired or revoked');
        }
        throw new errors.ServerError('The access token could not be validated');
      }
      const record = claims as Record<string, unknown>;
      const clientId = typeof record.client_id === 'string' ? record.client_id : typeof record.azp === 'string' ? record.azp : '';
      const scopes = typeof record.scope === 'string' ? record.scope.split(/\s+/).filter((s) => s !== '') : [];
      const info: McpAuthInfo = { token, clientId, scopes, extra: record };
      if (typeof record.exp === 'number') info.expiresAt = record.exp;
      if (resourceText !== undefined) info.resource = new URL(resourceText);
      return info;
    },
  };
}

/** The configured resource identifier: the document's `resource` member. */
function configuredResource(client: MonoCloudBackendNodeClient): string | undefined {
  const resource = protectedResourceOf(client);
  if (!resource) return undefined;
  return (JSON.parse(resource.document) as { resource?: string }).resource;
}
