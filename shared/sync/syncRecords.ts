import type { MalformedInstance } from '../dicomweb/dicomJsonShape.js';
import { NonRetryableError } from '../errors/errors.js';
import type { StudyPlan } from '../mapping/transaction/plan.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { StudySyncDeps } from './studySyncTypes.js';

/** What the writer records about a study it syncs: bad instances, tag warnings, instances the server lost. */

/**
 * Tag policy: a missing required tag (SOPInstanceUID, SeriesInstanceUID, PatientID, Modality, SOPClassUID) fails
 * that instance only, recorded as 'bad-dicom-data'; an invalid optional value is skipped and logged as a tag
 * warning (tag, keyword, value, location), or, with EnforceValidationOfTagValues, fails the instance and is
 * recorded like a missing tag. A resource that is not valid R4 is recorded as 'invalid-resource'.
 */
export async function recordPlan(plan: StudyPlan, message: StudyMessage, deps: StudySyncDeps): Promise<void> {
  for (const failure of plan.failures) {
    // A resource the study cannot do without is recorded once, by the handler, from the thrown error.
    if (plan.action === 'invalid' && failure.category === 'invalid-resource') continue;
    await deps.recordFailure({ ...failure, study: message.study, payload: message });
  }
  for (const warning of plan.warnings) {
    deps.log?.('warn', `Tag warning: ${warning.keyword} ${warning.tag} ${warning.reason}`, { ...warning });
  }
  if (plan.warnings.length > 0) await deps.recordWarnings?.(message.study, plan.warnings);
}

export function invalidResourceError(plan: StudyPlan, study: string): NonRetryableError {
  const reasons = plan.failures.filter((failure) => failure.category === 'invalid-resource').map((f) => f.reason);
  return new NonRetryableError(`Not sent: ${reasons.join('; ')}`, 'invalid-resource', { study });
}

/**
 * Instances the change feed listed as current (at poll time) that the DICOM server does not return: recorded with
 * the sequence, so the failure can be replayed; usually deleted since the poll, which a later message confirms.
 */
export async function recordListedButMissing(
  message: StudyMessage,
  present: ReadonlySet<string | undefined>,
  deps: StudySyncDeps,
): Promise<number> {
  const missing = message.changes.filter(
    (change) => change.state === 'current' && change.action !== 'delete' && !present.has(change.sop),
  );
  for (const change of missing) {
    await deps.recordFailure({
      category: 'dicom-not-found',
      reason: `The change feed listed this instance as current (sequence ${change.sequence}, ${change.action}) but the DICOM server does not return it; it is not in FHIR`,
      study: message.study,
      series: change.series,
      instance: change.sop,
      sequence: change.sequence,
      payload: message,
    });
  }
  return missing.length;
}

/** Highest change-feed sequence of each instance the message names. */
export function instanceSequences(message: StudyMessage): Map<string, number> {
  const sequences = new Map<string, number>();
  for (const change of message.changes) {
    sequences.set(change.sop, Math.max(sequences.get(change.sop) ?? -1, change.sequence));
  }
  return sequences;
}

/** Instances whose DICOM JSON is malformed are left out of the study, each recorded where it is wrong. */
export async function recordMalformed(
  malformed: readonly MalformedInstance[],
  message: StudyMessage,
  deps: StudySyncDeps,
): Promise<void> {
  const sequences = instanceSequences(message);
  for (const instance of malformed) {
    const sequence = instance.instance === undefined ? undefined : sequences.get(instance.instance);
    await deps.recordFailure({
      category: 'bad-dicom-data',
      study: message.study,
      ...instance,
      ...(sequence !== undefined ? { sequence } : {}),
      payload: message,
    });
  }
}
