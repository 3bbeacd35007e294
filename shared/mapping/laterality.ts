import type { Coding } from '@medplum/fhirtypes';
import { CodeSystem } from './codes.js';

// DICOM CID 244 "Laterality"; U (unpaired) has no laterality to state.
const lateralityCodes: Readonly<Record<string, Coding | null>> = {
  R: { system: CodeSystem.snomed, code: '24028007', display: 'Right' },
  L: { system: CodeSystem.snomed, code: '7771000', display: 'Left' },
  B: { system: CodeSystem.snomed, code: '51440002', display: 'Right and left' },
  U: null,
};

/**
 * Laterality / ImageLaterality → series.laterality. `null` means a valid value with nothing to write (U);
 * undefined means the value is not a DICOM laterality.
 */
export function toLaterality(value: string): Coding | null | undefined {
  const key = value.trim().toUpperCase();
  if (!Object.hasOwn(lateralityCodes, key)) return undefined;
  const coding = lateralityCodes[key];
  return coding ? { ...coding } : null;
}
