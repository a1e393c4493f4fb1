// The outbound token client's side of the crossing: the native class, and the callbacks it
// takes beyond the validating client's (the shared cache's `delete`).
import { loadBinding } from './loader.js';
import { messageOf } from './realm.js';

export const { NativeTokenClient } = loadBinding();
export type NativeTokenClient = InstanceType<typeof NativeTokenClient>;

/**
 * The shared cache's `delete`, best effort: a failure is answered as done, since the entry
 * also expires on its own and the caller needs a new token either way.
 */
export function cacheDeleteAdapter(remove: (key: string) => Promise<void>): (request: string) => Promise<string> {
  return async (request) => {
    try {
      await remove((JSON.parse(request) as { key: string }).key);
    } catch (error) {
      process.emitWarning(`The token cache's delete threw: ${messageOf(error) ?? String(error)}`);
    }
    return JSON.stringify({ ok: null });
  };
}
