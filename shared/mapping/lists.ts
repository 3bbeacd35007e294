/**
 * Replaces the first item that `matches` with `replacement`, in place, and drops any further matches;
 * appends the replacement when nothing matched; with no replacement, drops every match.
 */
export function replaceFirst<T>(items: readonly T[], matches: (item: T) => boolean, replacement: T | undefined): T[] {
  const out: T[] = [];
  let replaced = false;
  for (const item of items) {
    if (!matches(item)) out.push(item);
    else if (!replaced) {
      replaced = true;
      if (replacement !== undefined) out.push(replacement);
    }
  }
  if (!replaced && replacement !== undefined) out.push(replacement);
  return out;
}
