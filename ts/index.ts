export { MonoCloudBackendNodeClient, MonoCloudOidcBackendClient } from './client.js';
export {
  MonoCloudAuthBaseError,
  MonoCloudHttpError,
  MonoCloudOPError,
  MonoCloudTokenError,
  MonoCloudValidationError,
} from './errors.js';
export type * from './types.js';
