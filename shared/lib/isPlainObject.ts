/** A JSON object: not null, not an array (what DICOM JSON datasets, change-feed rows and token replies must be). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
