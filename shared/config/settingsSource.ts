/**
 * Turns flat settings (environment variables, app settings, local.settings.json `Values`, Key Vault secrets)
 * into one nested object keyed like DICOM Cast's hierarchical configuration.
 * `DicomWeb__Endpoint`, `DicomWeb:Endpoint` and (from Key Vault) `DicomWeb--Endpoint` all mean the same key.
 * Keys compare case-insensitively, as .NET configuration did.
 */
export type FlatSettings = Record<string, string | undefined>;

export interface NestedSettings {
  [key: string]: string | NestedSettings;
}

const separators = /__|:|--/;

export function settingPathOf(flatKey: string): string[] {
  return flatKey.split(separators).filter((part) => part !== '');
}

/** Later sources override earlier ones. */
export function mergeFlatSettings(...sources: FlatSettings[]): FlatSettings {
  const merged: FlatSettings = {};
  const canonical = new Map<string, string>();
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const normalized = settingPathOf(key).join(':').toLowerCase();
      const existing = canonical.get(normalized);
      if (existing !== undefined) delete merged[existing];
      canonical.set(normalized, key);
      merged[key] = value;
    }
  }
  return merged;
}

/**
 * Looks a setting up by its path (e.g. ['DicomWeb', 'Endpoint']) whatever the separator or case used.
 */
export function readSetting(settings: FlatSettings, path: readonly string[]): string | undefined {
  const wanted = path.join(':').toLowerCase();
  let found: string | undefined;
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined && settingPathOf(key).join(':').toLowerCase() === wanted) found = value;
  }
  return found;
}
