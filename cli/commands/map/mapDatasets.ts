/**
 * The mapping half of `dicom-cast map`: the writer's own builder (buildStudyTransaction with an empty FHIR state) and
 * its R4 check, per study, with every warning and rejection worded for stderr.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { getString, Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { dicomJsonProblems } from '../../../shared/dicomweb/dicomJsonShape.js';
import type { MappingOptions, TagIssue } from '../../../shared/mapping/index.js';
import type { Failure } from '../../../shared/errors/errors.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import { validateR4 } from '../../../shared/validation/index.js';
import type { LoadedDataset } from './readInput.js';

export interface MapResult {
  /** One transaction Bundle per study that has something to write, by Study Instance UID. */
  bundles: Bundle[];
  /** For stderr: warnings, rejected instances, invalid resources. */
  messages: string[];
}

/** The writer's transaction per study, for an empty FHIR server. */
export function mapDatasets(datasets: LoadedDataset[], options: MappingOptions): MapResult {
  const messages: string[] = [];
  const byStudy = new Map<string, DicomJsonDataset[]>();
  for (const { dataset, source } of datasets) {
    // The writer's own check of what it reads (see syncStudy): a malformed instance is left out, located.
    const problems = dicomJsonProblems(dataset);
    if (problems.length > 0) {
      const shown = problems.map((problem) => `${problem.tag} ${problem.reason}`).join('; ');
      messages.push(`rejected: ${source}: malformed DICOM JSON: ${shown}; left out`);
      continue;
    }
    const study = getString(dataset, Tag.StudyInstanceUID);
    if (study === undefined) {
      messages.push(`rejected: ${source}: no StudyInstanceUID (0020,000D): the change feed cannot name its study`);
      continue;
    }
    byStudy.set(study, [...(byStudy.get(study) ?? []), dataset]);
  }
  const bundles: Bundle[] = [];
  for (const study of [...byStudy.keys()].sort()) {
    const plan = buildStudyTransaction(
      { study, datasets: byStudy.get(study) ?? [], state: {}, applyDemographics: true, validate: validateR4 },
      options,
    );
    messages.push(...plan.warnings.map(describeWarning));
    messages.push(...plan.failures.map((failure) => describeFailure(study, failure)));
    if (plan.action === 'write') bundles.push(plan.transaction.bundle);
    else if (plan.action === 'invalid')
      messages.push(`study ${study}: not written: a resource it needs is not valid R4`);
  }
  return { bundles, messages };
}

function describeWarning(issue: TagIssue): string {
  const value = issue.value === undefined ? '' : ` = ${JSON.stringify(issue.value)}`;
  const where = whereText(issue.study, issue.series, issue.instance);
  return `warning: ${issue.keyword} ${issue.tag}${value}: ${issue.reason} (${where}); skipped`;
}

function describeFailure(study: string, failure: Failure): string {
  if (failure.category === 'invalid-resource') return `invalid: study ${study}: ${failure.reason}`;
  const where = whereText(study, failure.series, failure.instance);
  return `rejected: ${failure.reason}${failure.tag ? ` [${failure.tag}]` : ''} (${where})`;
}

function whereText(study: string, series?: string, instance?: string): string {
  return [`study ${study}`, series && `series ${series}`, instance && `instance ${instance}`]
    .filter(Boolean)
    .join(', ');
}
