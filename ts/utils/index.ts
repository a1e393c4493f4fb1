/**
 * Helpers for code that handles validated claims (`@monocloud/backend-node/utils` compatible).
 *
 * @packageDocumentation
 */

type GroupEntry = string | { id?: unknown; name?: unknown };

/**
 * Whether `user` (validated claims, a profile...) is in the given groups. The groups claim
 * (default `groups`) must be an array; an entry matches a group when it is that string, or an
 * object whose `id` or `name` is. With `matchAll` every group must match, otherwise any one.
 * An empty `groups` list always passes.
 */
export function isUserInGroup(
  user: Record<string, unknown>,
  groups: string[],
  groupsClaim = 'groups',
  matchAll = false,
): boolean {
  if (!Array.isArray(groups) || groups.length === 0) return true;
  const userGroups: unknown = user?.[groupsClaim] ?? [];
  if (!Array.isArray(userGroups) || userGroups.length === 0) return false;

  const isMember = (group: string): boolean =>
    (userGroups as GroupEntry[]).some(
      (entry) =>
        entry === group ||
        (typeof entry === 'object' && entry !== null && (entry.id === group || entry.name === group)),
    );
  return matchAll ? groups.every(isMember) : groups.some(isMember);
}

/** The union of the given arrays without duplicates, or `undefined` when none is an array. */
export function mergeArrays(...arrays: Array<string[] | undefined>): string[] | undefined {
  const present = arrays.filter((array): array is string[] => Array.isArray(array));
  return present.length > 0 ? [...new Set(present.flat())] : undefined;
}
