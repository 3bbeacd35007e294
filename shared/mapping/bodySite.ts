import type { Coding } from '@medplum/fhirtypes';
import { CodeSystem } from './codes.js';
import { bodyPartSnomed } from './data/bodyPartSnomed.js';

/**
 * BodyPartExamined → series.bodySite. A defined term with a SNOMED code gives the code and its meaning;
 * anything else keeps the DICOM value as display only: codes are never invented.
 */
export function toBodySite(bodyPartExamined: string): Coding {
  const key = bodyPartExamined.trim().toUpperCase();
  const entry = Object.hasOwn(bodyPartSnomed, key) ? bodyPartSnomed[key] : undefined;
  if (entry?.code) return { system: CodeSystem.snomed, code: entry.code, display: entry.meaning };
  return { display: bodyPartExamined.trim() };
}
