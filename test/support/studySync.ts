import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import type { Failure } from '../../shared/errors/errors.js';
import type { SearchingClient } from '../../shared/fhir/searchBatch.js';
import type { TagIssue } from '../../shared/mapping/types.js';
import type { InstanceChange, StudyMessage } from '../../shared/queue/studyMessage.js';
import type { StudySyncDeps } from '../../shared/sync/studySyncTypes.js';
import { instance, studyUid } from './mappingFixtures.js';
import { studyReaderOver } from './studyReaders.js';

/** The writer's test study: series `1.2.3.1` of `studyUid`, instance n is `1.2.3.1.<n>`. */
export const sop = (n: number) => `1.2.3.1.${n}`;
export const ct = (n: number, extra: Parameters<typeof instance>[2] = {}) => instance('1.2.3.1', sop(n), extra);

/** A change-feed row of instance n (a current create unless overridden). */
export const change = (n: number, sequence: number, overrides: Partial<InstanceChange> = {}): InstanceChange => ({
  series: '1.2.3.1',
  sop: sop(n),
  action: 'create',
  sequence,
  state: 'current',
  ...overrides,
});

export const studyMessage = (...changes: InstanceChange[]): StudyMessage => ({
  study: studyUid,
  maxSequence: Math.max(0, ...changes.map((c) => c.sequence)),
  changes,
});

/** What a sync recorded, logged and waited for. */
export interface SyncRecorder {
  failures: Failure[];
  logs: [string, string, Record<string, unknown> | undefined][];
  warnings: [string, readonly TagIssue[]][];
  sleeps: number[];
  /** How often the DICOM metadata was read. */
  reads: number;
}

/** The writer's dependencies on `fhir`, the DICOM side answering `datasets()`, everything else recorded. */
export function recordingDeps(
  fhir: SearchingClient,
  datasets: () => DicomJsonDataset[],
  overrides: Partial<StudySyncDeps> = {},
): { deps: StudySyncDeps; recorder: SyncRecorder } {
  const recorder: SyncRecorder = { failures: [], logs: [], warnings: [], sleeps: [], reads: 0 };
  const deps: StudySyncDeps = {
    dicom: {
      ...studyReaderOver(async () => {
        recorder.reads++;
        return datasets();
      }),
    },
    fhir,
    recordFailure: async (failure) => {
      recorder.failures.push(failure);
    },
    recordWarnings: async (study, warnings) => {
      recorder.warnings.push([study, warnings]);
    },
    log: (level, text, properties) => recorder.logs.push([level, text, properties]),
    sleep: async (ms) => {
      recorder.sleeps.push(ms);
    },
    ...overrides,
  };
  return { deps, recorder };
}
