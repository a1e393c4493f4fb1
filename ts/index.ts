export { MonoCloudBackendNodeClient, MonoCloudOidcBackendClient } from './client.js';
export {
  MonoCloudAuthBaseError,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudRefusalError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from './errors.js';
export type * from './types.js';
// The protectApi option types live with the adapters.
export type {
  ClaimCheck,
  ClaimCheckResponse,
  ClientCertificateResolver,
  ProtectApiOptions,
  ProtectApiRequestOptions,
  ProtectOptions,
  TokenResolver,
} from './protect/types.js';
// The outbound side: client-credentials tokens for calling other APIs.
export { MonoCloudTokenClient } from './outbound/token-client.js';
export type * from './outbound/types.js';
