import { getReferenceString } from '@medplum/core';
import { versionedDelete } from '../../fhir/bundleEntries.js';
import { isOwnedBy, ownSource } from '../ownership.js';
import type { MappingOptions } from '../types.js';
import { assembleTransaction } from './bundles.js';
import { ourDoseObservations } from './doseObservationEntries.js';
import type { FhirStudyState, PlannedEntry, StudyRemovalPlan } from './plan.js';

/**
 * The study has no instance left: delete its ImagingStudy when it is ours (meta.source is this DICOM server),
 * with our dose Observations that are part of it (read when `needsObservationSearch` said so). The Observations
 * go first when the removal is split, the ImagingStudy last: an interrupted removal leaves a study that a later
 * sync still finds and finishes.
 */
export function buildStudyRemoval(
  state: FhirStudyState,
  options: MappingOptions,
  partition?: string,
  maxBundleEntries?: number,
): StudyRemovalPlan {
  const existing = state.imagingStudy;
  if (!existing) return { action: 'absent' };
  if (!isOwnedBy(existing, ownSource(options.endpoint, partition))) return { action: 'not-owned' };
  const studyReference = getReferenceString(existing) ?? '';
  const observations = options.generateObservations
    ? ourDoseObservations(state.observations ?? [], studyReference)
    : [];
  const entries: PlannedEntry[] = [
    { entry: versionedDelete(existing), role: 'imagingStudy' },
    ...observations.map((observation): PlannedEntry => ({ entry: versionedDelete(observation), role: 'standalone' })),
  ];
  return {
    action: 'delete',
    transaction: assembleTransaction(entries, maxBundleEntries),
    observationsDeleted: observations.length,
  };
}
