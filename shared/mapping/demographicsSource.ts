import type { Extension, Patient } from '@medplum/fhirtypes';

/**
 * Which change-feed entry a Patient's demographics came from, so that when several studies name one patient the
 * study with the newest entry wins whatever order the writers process them in (a study processed last with older
 * data must not overwrite newer data). Recorded on the Patient as an extension (not a meta.tag: HAPI can keep the
 * tags of earlier versions on update, an extension is replaced with the resource everywhere); it is not part of the
 * Patient's identity. Sequences of one DICOM server's feed (v1 and v2 share them) are compared; a position from
 * another DICOM server's feed, or none (a Patient a person or an old DICOM Cast wrote), does not hold a write back.
 */
export const demographicsSourceUrl = 'urn:dicom-cast:demographics-source';

/** What the Patient records: the feed (DicomWeb:Endpoint), the newest entry whose study set the name and sex. */
export interface RecordedDemographicsSource {
  feed: string;
  sequence: number;
  study: string;
  /** The entry that last set birthDate (the Patient's creation or an `update` action). */
  birthDateSequence?: number;
}

/** Where a study's write stands in the feed; `sequence` is unknown for a resync (a message no feed row produced). */
export interface StudyFeedPosition {
  feed: string;
  study: string;
  /** The newest change-feed sequence of the study the message carries. */
  sequence?: number;
  /** The newest sequence of an `update` action among the message's changes. */
  updateSequence?: number;
}

export interface DemographicsPlan {
  /** Write name and gender from the study's data. */
  nameAndSex: boolean;
  /** Write birthDate from the study's data. */
  birthDate: boolean;
  /** The source to record on the written Patient; undefined: leave the recorded one as it is. */
  record?: RecordedDemographicsSource;
}

/** The source the Patient records for `feed`; undefined when it records none, or one of another feed. */
export function recordedSource(patient: Patient | undefined, feed: string): RecordedDemographicsSource | undefined {
  const extension = patient?.extension?.find((candidate) => candidate.url === demographicsSourceUrl);
  const part = (url: string) => extension?.extension?.find((candidate) => candidate.url === url);
  const sequence = part('sequence')?.valueDecimal;
  const study = part('study')?.valueString;
  if (part('feed')?.valueUri !== feed || typeof sequence !== 'number' || study === undefined) return undefined;
  const birthDateSequence = part('birthDateSequence')?.valueDecimal;
  return { feed, sequence, study, ...(typeof birthDateSequence === 'number' ? { birthDateSequence } : {}) };
}

/** The Patient with `source` recorded (replacing the one it had). */
export function withDemographicsSource(patient: Patient, source: RecordedDemographicsSource): Patient {
  const parts: Extension[] = [
    { url: 'feed', valueUri: source.feed },
    { url: 'sequence', valueDecimal: source.sequence },
    { url: 'study', valueString: source.study },
    ...(source.birthDateSequence !== undefined
      ? [{ url: 'birthDateSequence', valueDecimal: source.birthDateSequence }]
      : []),
  ];
  const others = (patient.extension ?? []).filter((extension) => extension.url !== demographicsSourceUrl);
  return { ...patient, extension: [...others, { url: demographicsSourceUrl, extension: parts }] };
}

/** Newer entry first; the same sequence in two studies (not one feed's doing) goes to the higher study UID. */
function isAtLeast(sequence: number, study: string, recorded: RecordedDemographicsSource): boolean {
  return sequence !== recorded.sequence ? sequence > recorded.sequence : study >= recorded.study;
}

/**
 * Which demographics a study's write may set on the Patient `existing` (undefined: it creates the Patient).
 * - a new Patient takes everything;
 * - a known position at or after the recorded one sets name and sex and moves the record forward; an older one
 *   (a delayed or redelivered message, or a study whose newest entry is older) sets nothing, so the record never
 *   moves back;
 * - birthDate keeps DICOM Cast's rule (written on create and on an `update` action) and is ordered on its own: an
 *   `update` entry at or after the one that last set it;
 * - an unknown position (resync) leaves a recorded Patient alone, and writes as DICOM Cast did where none is recorded;
 * - a Patient without a record of this feed is overwritten (as DICOM Cast did), and gets one.
 */
export function planDemographics(existing: Patient | undefined, position: StudyFeedPosition): DemographicsPlan {
  const { feed, study, sequence, updateSequence } = position;
  if (!existing) {
    return {
      nameAndSex: true,
      birthDate: true,
      ...(sequence !== undefined ? { record: { feed, sequence, study, birthDateSequence: sequence } } : {}),
    };
  }
  const recorded = recordedSource(existing, feed);
  if (sequence === undefined) {
    return recorded ? { nameAndSex: false, birthDate: false } : { nameAndSex: true, birthDate: false };
  }
  const nameAndSex = !recorded || isAtLeast(sequence, study, recorded);
  const birthDate =
    updateSequence !== undefined &&
    (recorded?.birthDateSequence === undefined || updateSequence >= recorded.birthDateSequence);
  if (!nameAndSex && !birthDate) return { nameAndSex, birthDate };
  const base = nameAndSex || !recorded ? { feed, sequence, study } : recorded;
  const birthDateSequence = birthDate ? updateSequence : recorded?.birthDateSequence;
  return {
    nameAndSex,
    birthDate,
    record: { ...base, ...(birthDateSequence !== undefined ? { birthDateSequence } : {}) },
  };
}

/**
 * Where a study message stands in the change feed: its newest sequence, and its newest `update` action's. A message
 * no feed row produced (resync: no changes, maxSequence 0) has no position.
 */
export function feedPosition(message: {
  changes: readonly { sequence: number; action: string }[];
  maxSequence: number;
}): { sequence?: number; updateSequence?: number } {
  if (message.changes.length === 0) return {};
  const sequence = Math.max(message.maxSequence, ...message.changes.map((change) => change.sequence));
  const updates = message.changes.filter((change) => change.action === 'update').map((change) => change.sequence);
  return { sequence, ...(updates.length > 0 ? { updateSequence: Math.max(...updates) } : {}) };
}
