import type { ImagingStudy } from '@medplum/fhirtypes';
import type { MappingOptions } from '../mapping/index.js';
import { needsObservationSearch } from '../mapping/transaction/doseObservationEntries.js';
import { isOwnedBy, ownSource } from '../mapping/ownership.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { StudyIntake } from './studyIntake.js';

/**
 * Reading only the series a change names, and keeping the others as the ImagingStudy FHIR holds them, writes what
 * reading the whole study would, when (and only when) these hold; in any doubt the writer reads the whole study.
 *
 * Before the read (seriesToRead): FHIR holds our ImagingStudy, versioned (the write is fenced by that version, as
 * always), with at least `fromInstances` instances (a smaller study is one request either way); the message lists
 * every change, or the series of those it left out (`omittedSeries`); with GenerateObservations, FHIR holds no SR
 * instance of the study (the Observations are planned from every dose SR of the study); some
 * series FHIR holds is not named (else the whole study is what is read); and no instance the message names is held
 * under a series the message does not name.
 *
 * After the read (seriesReadIsExact): every instance the feed lists as current was returned; the winner (the instance
 * stored last, whose data decides the Patient and the study's attributes) is one the message names, so it has the
 * highest change-feed sequence of the study, and every instance with a sequence was read: the whole study's winner is
 * the same; no dose SR was read (with GenerateObservations); the series kept were written with the winner's time
 * zone offset (their `started`); and no instance read is held under a series kept.
 */
export const defaultSeriesReadsFrom = 1000;

/** The series to read instead of the whole study, or undefined: read it whole. */
export function seriesToRead(
  message: StudyMessage,
  existing: ImagingStudy | undefined,
  mapping: MappingOptions,
  fromInstances: number,
): string[] | undefined {
  if (!existing?.meta?.versionId || message.changes.length === 0) return;
  // A trimmed message says which series its left-out changes are in, or the whole study is read.
  if (message.omittedChanges !== undefined && message.omittedSeries === undefined) return;
  // Dose Observations are planned from every dose SR of the study: a study FHIR holds an SR of is read whole.
  if (needsObservationSearch(existing, false, mapping)) return;
  if (!isOwnedBy(existing, ownSource(mapping.endpoint, message.partition))) return;
  const held = existing.series ?? [];
  const instances = held.reduce((total, series) => total + (series.instance?.length ?? 0), 0);
  if (instances < fromInstances) return;
  const named = new Set([...message.changes.map((change) => change.series), ...(message.omittedSeries ?? [])]);
  if (held.every((series) => named.has(series.uid))) return;
  const sops = new Set(message.changes.map((change) => change.sop));
  for (const series of held) {
    if (named.has(series.uid)) continue;
    if ((series.instance ?? []).some((instance) => sops.has(instance.uid))) return;
  }
  return [...named];
}

/** Whether the series read give what the whole study would (see above); false: read the whole study. */
export function seriesReadIsExact(
  intake: StudyIntake,
  message: StudyMessage,
  existing: ImagingStudy,
  mapping: MappingOptions,
): boolean {
  const read = intake.series;
  if (!read) return false;
  const listed = message.changes.filter((change) => change.state === 'current' && change.action !== 'delete');
  if (listed.some((change) => !intake.present.has(change.sop))) return false;
  // Nor when a dose SR was read: whole and part would then plan the Observations from different SRs.
  if (needsObservationSearch(existing, intake.screened.hasDoseReport, mapping)) return false;
  const winner = intake.screened.read.winner?.record;
  if (winner?.sequence === undefined) return false;
  const offset = winner.study.offset ?? mapping.defaultTimezoneOffset;
  const kept = (existing.series ?? []).filter((series) => !read.has(series.uid));
  if (kept.some((series) => series.started?.includes('T') && !series.started.endsWith(offset))) return false;
  // An instance read that FHIR holds in a series kept would be held twice (a whole read moves it).
  const records = intake.screened.read.records;
  return !kept.some((series) => (series.instance ?? []).some((instance) => records.has(instance.uid)));
}
