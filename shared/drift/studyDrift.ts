/**
 * Pure comparison of what the archive holds with what FHIR holds, per study. Used by the drift sweep (which
 * enqueues a resync per drift) and by `dicom-cast verify` (which prints them). No I/O here.
 */

/** A study as the archive lists it (QIDO-RS study level). */
export interface ArchiveStudy {
  study: string;
  /** NumberOfStudyRelatedInstances (0020,1208); undefined when the archive did not return it. */
  instances?: number;
  /** The Patient identifier the data names (system per the mapping settings, value PatientID). */
  patient?: { system: string; value: string };
}

/** An ImagingStudy as FHIR holds it. */
export interface FhirStudy {
  study: string;
  /** `ImagingStudy/<id>` */
  reference: string;
  /** Instances listed in its series. */
  instances: number;
  /** meta.source is this app's DICOM endpoint: only those are ours to remove. */
  owned: boolean;
  /** The subject's Patient identifiers, when the Patient was read; undefined when not known. */
  subjectIdentifiers?: readonly { system?: string; value?: string }[];
  subject?: string;
}

export type StudyDrift =
  | { kind: 'missing-in-fhir'; study: string; archiveInstances?: number }
  | { kind: 'missing-in-archive'; study: string; imagingStudy: string }
  | {
      kind: 'instances-differ';
      study: string;
      archiveInstances: number;
      fhirInstances: number;
      /** Filled by a detailed comparison (verify): the first few SOP Instance UIDs on one side only. */
      onlyInArchive?: string[];
      onlyInFhir?: string[];
    }
  | { kind: 'subject-differs'; study: string; expected: string; subject: string };

/**
 * How one study differs. `archive` undefined: the archive did not list it (a candidate: paging is not stable under
 * deletes, so a caller confirms with a direct query before acting). ImagingStudies another server wrote are never
 * reported missing in the archive (they are not ours to remove).
 */
export function compareStudy(archive: ArchiveStudy | undefined, fhir: FhirStudy | undefined): StudyDrift[] {
  if (!archive && !fhir) return [];
  if (!fhir) return [{ kind: 'missing-in-fhir', study: archive!.study, ...countOf(archive!.instances) }];
  if (!archive)
    return fhir.owned ? [{ kind: 'missing-in-archive', study: fhir.study, imagingStudy: fhir.reference }] : [];
  const drifts: StudyDrift[] = [];
  if (archive.instances !== undefined && archive.instances !== fhir.instances) {
    drifts.push({
      kind: 'instances-differ',
      study: archive.study,
      archiveInstances: archive.instances,
      fhirInstances: fhir.instances,
    });
  }
  if (archive.patient && fhir.subjectIdentifiers && !namesPatient(fhir.subjectIdentifiers, archive.patient)) {
    drifts.push({
      kind: 'subject-differs',
      study: archive.study,
      expected: describeIdentifier(archive.patient),
      subject: `${fhir.subject ?? '(none)'} ${fhir.subjectIdentifiers.map(describeIdentifier).join(', ') || '(no identifier)'}`,
    });
  }
  return drifts;
}

/** Compares two sides keyed by study UID; studies in neither list are not compared. */
export function compareStudies(archive: readonly ArchiveStudy[], fhir: readonly FhirStudy[]): StudyDrift[] {
  const archiveByUid = new Map(archive.map((study) => [study.study, study]));
  const fhirByUid = new Map(fhir.map((study) => [study.study, study]));
  const uids = [...new Set([...archiveByUid.keys(), ...fhirByUid.keys()])].sort();
  return uids.flatMap((uid) => compareStudy(archiveByUid.get(uid), fhirByUid.get(uid)));
}

/** The first `sample` SOP Instance UIDs found on one side only, and the counts. */
export function compareInstanceSets(
  archive: readonly string[],
  fhir: readonly string[],
  sample = 5,
): { onlyInArchive: string[]; onlyInFhir: string[]; onlyInArchiveCount: number; onlyInFhirCount: number } {
  const archiveSet = new Set(archive);
  const fhirSet = new Set(fhir);
  const onlyInArchive = [...archiveSet].filter((uid) => !fhirSet.has(uid)).sort();
  const onlyInFhir = [...fhirSet].filter((uid) => !archiveSet.has(uid)).sort();
  return {
    onlyInArchive: onlyInArchive.slice(0, sample),
    onlyInFhir: onlyInFhir.slice(0, sample),
    onlyInArchiveCount: onlyInArchive.length,
    onlyInFhirCount: onlyInFhir.length,
  };
}

/** One line per drift, for people. */
export function describeDrift(drift: StudyDrift): string {
  switch (drift.kind) {
    case 'missing-in-fhir':
      return `study ${drift.study}: in the archive${drift.archiveInstances !== undefined ? ` (${drift.archiveInstances} instances)` : ''}, no ImagingStudy in FHIR`;
    case 'missing-in-archive':
      return `study ${drift.study}: ${drift.imagingStudy} has no study behind it in the archive`;
    case 'instances-differ': {
      const sides = [
        drift.onlyInArchive?.length ? `only in the archive: ${drift.onlyInArchive.join(', ')}` : '',
        drift.onlyInFhir?.length ? `only in FHIR: ${drift.onlyInFhir.join(', ')}` : '',
      ].filter(Boolean);
      return (
        `study ${drift.study}: ${drift.archiveInstances} instances in the archive, ${drift.fhirInstances} in FHIR` +
        (sides.length ? ` (${sides.join('; ')})` : '')
      );
    }
    case 'subject-differs':
      return `study ${drift.study}: subject is ${drift.subject}, the data names Patient ${drift.expected}`;
  }
}

function countOf(instances: number | undefined): { archiveInstances?: number } {
  return instances === undefined ? {} : { archiveInstances: instances };
}

function namesPatient(
  identifiers: readonly { system?: string; value?: string }[],
  want: { system: string; value: string },
) {
  return identifiers.some((identifier) => (identifier.system ?? '') === want.system && identifier.value === want.value);
}

function describeIdentifier(identifier: { system?: string; value?: string }): string {
  return identifier.system ? `${identifier.system}|${identifier.value ?? ''}` : (identifier.value ?? '');
}
