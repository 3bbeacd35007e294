import type { FhirStudyState, StudyRemovalPlan } from '../mapping/transaction/plan.js';
import { omitUndefined } from '../lib/omitUndefined.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { countStudyInstances } from './studyIntake.js';
import type { StudySyncDeps, SyncPass } from './studySyncTypes.js';

/**
 * Carries out a removal plan (buildStudyRemoval): its Bundles in order, the ImagingStudy's delete last.
 *
 * A DELETE cannot be fenced on AHDS or HAPI (both ignore its If-Match): a study re-stored between our DICOM read
 * and our delete would be deleted anyway. So the DICOM server is read once more after the delete, and a study
 * that has instances again is synced again at once (restart); a store after that read has its own message.
 */
export async function removeStudy(
  message: StudyMessage,
  state: FhirStudyState,
  removal: StudyRemovalPlan,
  deps: StudySyncDeps,
  generateObservations: boolean | undefined,
): Promise<SyncPass> {
  const base = { study: message.study, instances: 0, series: 0, warnings: [], rejectedInstances: 0 };
  const existing = state.imagingStudy;
  switch (removal.action) {
    case 'absent':
      return { ...base, outcome: 'absent' };
    case 'not-owned':
      deps.log?.(
        'warn',
        `ImagingStudy ${existing?.id ?? ''} of study ${message.study} is not owned by this DICOM server; kept`,
      );
      return { ...base, outcome: 'unchanged', ...omitUndefined({ imagingStudyId: existing?.id }) };
    case 'delete': {
      const { before, fenced } = removal.transaction;
      for (const part of [...before, fenced]) await deps.fhir.transaction(part.bundle);
      const now = await countStudyInstances(deps.dicom, message.study, message.partition);
      if (now > 0) return { restart: 'the study was stored again while it was being removed' };
      return {
        ...base,
        outcome: 'deleted',
        ...omitUndefined({ imagingStudyId: existing?.id }),
        ...(generateObservations
          ? { observations: { created: 0, updated: 0, deleted: removal.observationsDeleted } }
          : {}),
      };
    }
  }
}
