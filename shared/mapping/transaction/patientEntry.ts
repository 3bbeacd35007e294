import type { Patient } from '@medplum/fhirtypes';
import { conditionalCreate, versionedUpdate } from '../../fhir/bundleEntries.js';
import { sameContent } from '../../fhir/resourceEquality.js';
import { planDemographics, withDemographicsSource, type DemographicsPlan } from '../demographicsSource.js';
import { patientIdentifier, patientSearchParams, toPatient } from '../patient.js';
import type { MappingOptions } from '../types.js';
import type { EntryPlanner, PlanContext, PlanReport, StudyTransactionInput } from './plan.js';
import type { ScreenedStudy } from './screen.js';

/**
 * The Patient of the current data: the instance that wins the study-level attributes decides. Its name and sex, and
 * its birth date when the demographics plan says so; undefined when no instance wins.
 */
export function mapStudyPatient(
  input: StudyTransactionInput,
  screened: ScreenedStudy,
  options: MappingOptions,
  report: PlanReport,
): PlanContext['patient'] {
  const winner = screened.read.winner;
  if (!winner) return undefined;
  const { study, state } = input;
  const identity = patientIdentifier(winner.instance.dataset, options);
  const demographics: DemographicsPlan = input.feedPosition
    ? planDemographics(state.patient, { feed: options.endpoint, study, ...input.feedPosition })
    : { nameAndSex: true, birthDate: input.applyDemographics };
  const mapped = toPatient(winner.instance.dataset, state.patient, options, {
    applyDemographics: demographics.birthDate,
    applyNameAndSex: demographics.nameAndSex,
  });
  report.warnings.push(...mapped.issues.filter((issue) => issue.severity === 'warning'));
  const resource: Patient = demographics.record
    ? withDemographicsSource(mapped.patient, demographics.record)
    : mapped.patient;
  return { resource, identity };
}

/** Creates the Patient (conditionally on its identifier) or updates it (If-Match) when its content changed. */
export const planPatient: EntryPlanner = ({ patient, input, options, references, check }) => {
  const existing = input.state.patient;
  if (!patient || (existing && sameContent(existing, patient.resource))) return [];
  const { resource, identity } = patient;
  if (!check(resource, `Patient ${identity.system}|${identity.value}`)) return 'invalid';
  if (existing) return [{ entry: versionedUpdate(resource), role: 'patient' }];
  // Marked as ours, so a copy a conditional-create race left can be told from one a person made.
  const ours = { ...resource, meta: { ...resource.meta, source: options.endpoint } };
  const condition = input.state.plainCreate?.patient ? undefined : patientSearchParams(identity);
  return [{ entry: conditionalCreate(ours, references.patient, condition), role: 'patient', ifFound: 'conflict' }];
};
