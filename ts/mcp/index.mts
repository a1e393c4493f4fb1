// ES modules: the SDK's ES module classes, the ones its ES module middleware checks.
import * as sdkErrors from '@modelcontextprotocol/sdk/server/auth/errors.js';

import type { MonoCloudBackendNodeClient } from '../client.js';
import type { ProtectApiOptions } from '../protect/types.js';
import { createVerifier, type McpTokenVerifier, type McpVerifierOptions } from './verifier.js';

export type { McpAuthInfo, McpTokenVerifier, McpVerifierOptions } from './verifier.js';

/** See the CommonJS entry (index.ts): the same verifier, throwing the ES module classes. */
export function mcpTokenVerifier(
  clientOrOptions?: MonoCloudBackendNodeClient | ProtectApiOptions<unknown>,
  options?: McpVerifierOptions,
): McpTokenVerifier {
  return createVerifier(sdkErrors, clientOrOptions, options);
}
