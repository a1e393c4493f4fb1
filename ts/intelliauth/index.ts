/**
 * `@monocloud/backend-node-rs/intelliauth`: the names of IntelliAuth's Node SDK (seed 004), so
 * a program written for it runs with only its import specifiers changed. `requireSession` is in
 * `./intelliauth/express`.
 *
 * @packageDocumentation
 */
export { ManagementApiError, ManagementClient } from './management.js';
export type * from './types.js';
