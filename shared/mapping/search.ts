/** Escapes the characters FHIR search gives a meaning to (`\`, `|`, `,`, `$`) inside a parameter value. */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (character) => `\\${character}`);
}

/** A token search value `system|code`; an empty system gives `|code` (only identifiers without a system). */
export function tokenSearchValue(system: string, code: string): string {
  return `${escapeSearchValue(system)}|${escapeSearchValue(code)}`;
}
