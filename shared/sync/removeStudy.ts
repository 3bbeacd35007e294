import type { BundleEntry, Observation } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { splitTransaction, transactionOf } from '../fhir/bundleEntries.js';
import type { MappingOptions } from '../mapping/index.js';
import {
  buildStudyRemoval,
  needsObservationSearch,
  observationSearchParams,
  type FhirStudyState,
} from '../mapping/transaction.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { StudySyncDeps, SyncPass } from './syncStudy.js';

/**
 * The study has no instance left: delete its ImagingStudy when it is ours, with our dose Observations of it.
 * Within `maxEntries` per Bundle: the Observations go first in chunks (each delete stands on its own), the
 * ImagingStudy last, so an interrupted removal leaves a study that a later sync still finds and finishes.
 *
 * A DELETE cannot be fenced on AHDS or HAPI (both ignore its If-Match): a study re-stored between our DICOM read
 * and our delete would be deleted anyway. So the DICOM server is read once more after the delete, and a study
 * that has instances again is synced again at once (restart); a store after that read has its own message.
 */
export async function removeStudy(
  message: StudyMessage,
  state: FhirStudyState,
  datasets: DicomJsonDataset[],
  deps: StudySyncDeps,
  settings: { mapping: MappingOptions; maxEntries: number },
): Promise<SyncPass> {
  const { mapping } = settings;
  const base = { study: message.study, instances: 0, series: 0, warnings: [], rejectedInstances: 0 };
  const existing = state.imagingStudy;
  if (existing && !state.observations && needsObservationSearch(existing, datasets, mapping)) {
    state.observations = await deps.fhir.search<Observation>('Observation', observationSearchParams(existing));
  }
  const removal = buildStudyRemoval(state, mapping, message.partition);
  switch (removal.action) {
    case 'absent':
      return { ...base, outcome: 'absent' };
    case 'not-owned':
      deps.log?.(
        'warn',
        `ImagingStudy ${existing?.id ?? ''} of study ${message.study} is not owned by this DICOM server; kept`,
      );
      return { ...base, outcome: 'unchanged', imagingStudyId: existing?.id };
    case 'delete': {
      const entries = removal.bundle?.entry ?? [];
      const parts = splitTransaction(entries, [0], settings.maxEntries);
      for (const part of [...parts.chunks, parts.fenced]) {
        await deps.fhir.transaction(transactionOf(part.map((index) => entries[index] as BundleEntry)));
      }
      const now = await deps.dicom.readStudyMetadata(message.study, message.partition);
      if (now.length > 0) return { restart: 'the study was stored again while it was being removed' };
      return {
        ...base,
        outcome: 'deleted',
        imagingStudyId: existing?.id,
        ...(mapping.generateObservations
          ? { observations: { created: 0, updated: 0, deleted: removal.observationsDeleted } }
          : {}),
      };
    }
  }
}
