/**
 * A token verifier for the MCP TypeScript SDK (`@modelcontextprotocol/sdk`):
 * `requireBearerAuth({ verifier: mcpTokenVerifier(client) })`.
 *
 * @packageDocumentation
 */
import type { MonoCloudBackendNodeClient } from '../client.js';
import type { ProtectApiOptions } from '../protect/types.js';
import { createVerifier, type McpErrors, type McpTokenVerifier, type McpVerifierOptions } from './verifier.js';

export type { McpAuthInfo, McpTokenVerifier, McpVerifierOptions } from './verifier.js';

// CommonJS: the SDK's CommonJS classes, the ones its CommonJS middleware checks.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const errors: McpErrors = require('@modelcontextprotocol/sdk/server/auth/errors.js');

/**
 * A verifier over a client (or client options with `protectedResource`, as `protectApi` takes
 * them): it validates each token as `validateAccessToken(token, options)` does and answers the
 * SDK's `AuthInfo` (`clientId` from `client_id` or `azp`, `scopes`, `expiresAt` from `exp`,
 * `resource`, the claims in `extra`), or throws the SDK's `InvalidTokenError` (401),
 * `InsufficientScopeError` (403) or `ServerError` (500).
 */
export function mcpTokenVerifier(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<unknown>,
  options?: McpVerifierOptions,
): McpTokenVerifier {
  return createVerifier(errors, clientOrOptions, options);
}
