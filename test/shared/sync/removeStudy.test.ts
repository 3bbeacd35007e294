import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, Observation } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import type { FhirStudyState } from '../../../shared/mapping/transaction/plan.js';
import { buildStudyRemoval } from '../../../shared/mapping/transaction/removal.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import type { MappingOptions } from '../../../shared/mapping/types.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { removeStudy } from '../../../shared/sync/removeStudy.js';
import type { StudySyncDeps } from '../../../shared/sync/studySyncTypes.js';
import { ctDoseReport } from '../../support/ctDoseReport.js';
import { instance, options as baseOptions, studyUid } from '../../support/mappingFixtures.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * removeStudy against the real local FHIR server over loopback HTTP, with the removal planned by buildStudyRemoval
 * from what the server holds after the writer's own transaction (a CT image and a CT dose report): what is deleted,
 * what is kept, what the sync reports, and a study stored again while it was being removed.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`removeStudy on the local FHIR server, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    const mapping: MappingOptions = { ...baseOptions, generateObservations: true };
    const message: StudyMessage = { study: studyUid, maxSequence: 3, changes: [] };
    const doseReport = ctDoseReport(
      [
        { uid: '1.2.3.100.1', ctdiVol: 10, dlp: 50 },
        { uid: '1.2.3.100.2', ctdiVol: 12, dlp: 60 },
      ],
      110,
    );

    /** Writes the study as the writer would on an empty server, then reads back what a removal starts from. */
    async function writtenStudy(options = mapping): Promise<FhirStudyState> {
      const plan = buildStudyTransaction(
        {
          study: studyUid,
          datasets: [instance('1.2.3.1', '1.2.3.1.1'), doseReport],
          state: {},
          applyDemographics: true,
        },
        options,
      );
      assert.equal(plan.action, 'write');
      if (plan.action === 'write') await fhir.transaction(plan.transaction.bundle);
      const [imagingStudy] = await server.all<ImagingStudy>('ImagingStudy');
      assert.ok(imagingStudy, 'the study was written');
      return { imagingStudy, observations: await server.all<Observation>('Observation') };
    }
    function depsFor(metadataNow: DicomJsonDataset[] = [], withLog = true) {
      const logs: [string, string][] = [];
      const reads: string[] = [];
      const deps: StudySyncDeps = {
        dicom: {
          ...studyReaderOver(async (study) => {
            reads.push(study);
            return metadataNow;
          }),
        },
        fhir,
        recordFailure: () => Promise.reject(new Error('not recorded here')),
        ...(withLog ? { log: (level: string, text: string) => logs.push([level, text]) } : {}),
      };
      return { deps, logs, reads };
    }
    const counts = async () => ({
      imagingStudies: (await server.all('ImagingStudy')).length,
      observations: (await server.all('Observation')).length,
      patients: (await server.all('Patient')).length,
      endpoints: (await server.all('Endpoint')).length,
    });

    it('ours: the ImagingStudy and our dose Observations deleted (in Bundles of two), reported; the DICOM server read again', async () => {
      const state = await writtenStudy();
      assert.equal(state.observations?.length, 3, 'two irradiation events and the summary');
      const removal = buildStudyRemoval(state, mapping, undefined, 2);
      const { deps, reads } = depsFor();
      assert.deepEqual(await removeStudy(message, state, removal, deps, true), {
        study: studyUid,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 0,
        outcome: 'deleted',
        imagingStudyId: state.imagingStudy?.id,
        observations: { created: 0, updated: 0, deleted: 3 },
      });
      assert.deepEqual(reads, [studyUid]);
      assert.deepEqual(await counts(), { imagingStudies: 0, observations: 0, patients: 1, endpoints: 1 });
    });

    it('without dose Observations: no Observation counts in the result', async () => {
      const options = { ...mapping, generateObservations: false };
      const state = await writtenStudy(options);
      const result = await removeStudy(message, state, buildStudyRemoval(state, options), depsFor().deps, false);
      assert.equal('outcome' in result && result.outcome, 'deleted');
      assert.equal('observations' in result, false);
      assert.equal((await counts()).imagingStudies, 0);
    });

    it('stored again while it was being removed: the pass restarts (the new instance is synced at once)', async () => {
      const state = await writtenStudy();
      const { deps } = depsFor([instance('1.2.3.1', '1.2.3.1.2')]);
      assert.deepEqual(await removeStudy(message, state, buildStudyRemoval(state, mapping), deps, true), {
        restart: 'the study was stored again while it was being removed',
      });
    });

    it('another server’s study: kept, reported unchanged, warned about; also without a log', async () => {
      const state = await writtenStudy({ ...mapping, endpoint: 'https://other-dicom.example.com' });
      const before = await counts();
      const removal = buildStudyRemoval(state, mapping);
      assert.equal(removal.action, 'not-owned');
      const unchanged = {
        study: studyUid,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 0,
        outcome: 'unchanged',
        imagingStudyId: state.imagingStudy?.id,
      };
      const { deps, logs, reads } = depsFor();
      server.resetRequestCount();
      assert.deepEqual(await removeStudy(message, state, removal, deps, true), unchanged);
      assert.deepEqual(logs, [
        ['warn', `ImagingStudy ${state.imagingStudy?.id} of study ${studyUid} is not owned by this DICOM server; kept`],
      ]);
      assert.deepEqual(await removeStudy(message, state, removal, depsFor([], false).deps, true), unchanged);
      assert.deepEqual(reads, []);
      assert.deepEqual(server.requestCounts(), {});
      assert.deepEqual(await counts(), before);
    });

    it('nothing in FHIR: absent, nothing sent', async () => {
      server.resetRequestCount();
      const { deps, reads } = depsFor();
      const result = await removeStudy(message, {}, buildStudyRemoval({}, mapping), deps, true);
      assert.deepEqual(result, {
        study: studyUid,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 0,
        outcome: 'absent',
      });
      assert.deepEqual(reads, []);
      assert.deepEqual(server.requestCounts(), {});
    });
  });
}
