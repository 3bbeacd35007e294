import { getReferenceString } from '@medplum/core';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { conditionalCreate, versionedUpdate } from '../../fhir/bundleEntries.js';
import { sameContent } from '../../fhir/resourceEquality.js';
import { omitUndefined } from '../../lib/omitUndefined.js';
import { imagingStudySearchParams, toImagingStudy } from '../imagingStudy.js';
import { isOwnedBy, ownSource } from '../ownership.js';
import type { MappingOptions } from '../types.js';
import { mapStudyPatient } from './patientEntry.js';
import {
  issueFailure,
  localFullUrl,
  type PlanContext,
  type PlannedEntry,
  type PlanReport,
  type StudyTransactionInput,
} from './plan.js';
import type { ScreenedStudy } from './screen.js';

/**
 * The study mapped from its current instances, or `keep`: the DICOM server holds instances but the mapping rejects
 * every one that FHIR does not list yet, so there is nothing to write (and nothing to delete: the study exists).
 */
export type MappedStudy = Pick<PlanContext, 'patient' | 'imagingStudy' | 'owned' | 'references'> | 'keep';

/**
 * The Patient and the ImagingStudy of the current data, and the references between the entries. Tag errors of the
 * instances left out are recorded in `report`, with the warnings of what is kept.
 */
export function mapStudy(
  input: StudyTransactionInput,
  screened: ScreenedStudy,
  options: MappingOptions,
  report: PlanReport,
): MappedStudy {
  const { study, state } = input;
  const owned = isOwnedBy(state.imagingStudy, ownSource(options.endpoint, input.partition));
  const patient = mapStudyPatient(input, screened, options, report);
  const patientFullUrl = patient
    ? ((state.patient && getReferenceString(state.patient)) ??
      localFullUrl('Patient', patient.identity.system, patient.identity.value))
    : undefined;
  const patientReference = patientFullUrl ?? state.imagingStudy?.subject?.reference;
  const references = {
    patient: patientReference ?? '',
    endpoint: (state.endpoint && getReferenceString(state.endpoint)) ?? localFullUrl('Endpoint', options.endpoint),
    imagingStudy: (state.imagingStudy && getReferenceString(state.imagingStudy)) ?? localFullUrl('ImagingStudy', study),
  };

  const present = new Set(screened.instances.map((instance) => instance.sop));
  const removeOnlyThese =
    owned || !state.imagingStudy
      ? undefined
      : new Set((input.changedInstances ?? []).filter((sop) => !present.has(sop)));
  const mapped = toImagingStudy(
    {
      studyUid: study,
      ...(state.imagingStudy ? { existing: state.imagingStudy } : {}),
      ...(input.partition !== undefined ? { partition: input.partition } : {}),
      patientReference: references.patient,
      endpointReference: references.endpoint,
      ...(removeOnlyThese ? { removeOnlyThese } : {}),
      ...(input.readSeries ? { readSeries: input.readSeries } : {}),
    },
    options,
    screened.read,
  );
  for (const rejected of mapped.rejectedInstances) {
    const sequence = rejected.sop ? input.sequences?.get(rejected.sop) : undefined;
    report.failures.push(
      ...rejected.issues.filter((i) => i.severity === 'error').map((i) => issueFailure(i, sequence)),
    );
  }
  report.warnings.push(...mapped.issues);
  report.rejectedInstances = screened.failures.length + mapped.rejectedInstances.length;
  let imagingStudy = mapped.imagingStudy;
  // Every current instance rejected (the ones FHIR lists keep their entries): leave FHIR as it is, as when the
  // screen rejects them all. Deleting would drop a study the DICOM server holds, with its dose Observations.
  if (!imagingStudy) return 'keep';
  if (patientReference === undefined) return 'keep';
  if (state.imagingStudy && !owned) {
    // Not ours: keep whoever wrote it as its owner (none, when it has no meta.source).
    const { source: _ours, ...meta } = imagingStudy.meta ?? {};
    const source = state.imagingStudy.meta?.source;
    imagingStudy = { ...imagingStudy, meta: { ...meta, ...omitUndefined({ source }) } };
  }
  report.instances = imagingStudy.numberOfInstances ?? 0;
  report.series = imagingStudy.numberOfSeries ?? 0;
  return { patient, imagingStudy, owned, references };
}

/** Whether the ImagingStudy differs from what FHIR holds (a new one always does). */
export function imagingStudyChanged({ input, imagingStudy }: PlanContext): boolean {
  return !input.state.imagingStudy || !sameContent(input.state.imagingStudy, imagingStudy);
}

/**
 * The fence: the ImagingStudy's write, in every transaction (even unchanged) so its If-Match fences the whole write;
 * a new one is created conditionally on its identifier. Undefined when it is not valid R4 (nothing is sent).
 */
export function planImagingStudy(context: PlanContext): PlannedEntry | undefined {
  const { input, imagingStudy, references } = context;
  const existing: ImagingStudy | undefined = input.state.imagingStudy;
  // The series toImagingStudy kept as FHIR holds them are the very objects read: the server accepted them.
  const held = new Set<object>(existing?.series);
  if (!context.check(imagingStudy, `ImagingStudy urn:oid:${input.study}`, held)) return undefined;
  if (existing) {
    const { id, meta } = existing;
    const update = {
      ...imagingStudy,
      ...omitUndefined({ id }),
      meta: { ...imagingStudy.meta, ...omitUndefined({ versionId: meta?.versionId }) },
    };
    return { entry: versionedUpdate(update), role: 'imagingStudy' };
  }
  const condition = input.state.plainCreate?.imagingStudy
    ? undefined
    : imagingStudySearchParams(input.study, input.partition);
  return {
    entry: conditionalCreate(imagingStudy, references.imagingStudy, condition),
    role: 'imagingStudy',
    ifFound: 'conflict',
  };
}
