import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { Tag } from '../../../shared/dicomweb/dicomJson.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import type { StudySyncDeps } from '../../../shared/sync/studySyncTypes.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { useLocalFhirServer, type LocalFhir } from '../../support/localFhirServer.js';
import { attr, instance, options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * How often one sync reads the study's DICOM metadata: once, also when a pass restarts after a conflict its own
 * committed transaction revealed (a conditional create of the Patient matched another study's new copy), and
 * again whenever someone else wrote the ImagingStudy in between (the read-FHIR-before-DICOM fence).
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy: DICOM metadata reads across the passes of one sync (local FHIR server, profile ${profile})`, () => {
    let server: RunningFhirServer;
    let fhir: LocalFhir['fhir'];
    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });
    beforeEach(async () => {
      await createOurEndpoint(fhir, mapping);
    });

    const otherStudy = '1.2.4';
    const message = (study: string, sops: string[]): StudyMessage => ({
      study,
      maxSequence: sops.length,
      changes: sops.map((sop, index) => ({
        series: `${study}.1`,
        sop,
        action: 'create',
        sequence: index + 1,
        state: 'current',
      })),
    });
    const datasetOf = (study: string, sop: string) =>
      instance(`${study}.1`, sop, { [Tag.StudyInstanceUID]: attr('UI', study) });

    /** A writer of `study` whose DICOM reads are counted; `beforeFirstWrite` runs once, before its first transaction. */
    function writer(study: string, sops: string[], beforeFirstWrite?: () => Promise<void>) {
      let reads = 0;
      let hooked = false;
      const deps: StudySyncDeps = {
        dicom: {
          ...studyReaderOver(() => {
            reads++;
            return Promise.resolve(sops.map((sop) => datasetOf(study, sop)));
          }),
        },
        fhir: {
          search: (type, params) => fhir.search(type, params),
          batch: (bundle) => fhir.batch(bundle),
          transaction: async (bundle) => {
            if (beforeFirstWrite && !hooked) {
              hooked = true;
              await beforeFirstWrite();
            }
            return fhir.transaction(bundle);
          },
        },
        recordFailure: () => Promise.resolve(),
        sleep: () => Promise.resolve(),
      };
      return { deps, reads: () => reads, sync: () => syncStudy(message(study, sops), deps, { mapping }) };
    }

    it('reads once when its own transaction committed and only a Patient create found another copy', async () => {
      // The other study of the same patient creates the Patient between our Patient search and our transaction.
      const other = writer(otherStudy, ['1.2.4.1.1']);
      const ours = writer(studyUid, ['1.2.3.1.1'], async () => {
        await other.sync();
      });
      const result = await ours.sync();
      assert.equal(result.attempts, 2, 'the conditional create found the other copy: one conflict retry');
      assert.equal(ours.reads(), 1);
      const studies = await server.all<ImagingStudy>('ImagingStudy');
      assert.deepEqual(studies.map((s) => s.identifier?.[0]?.value).sort(), [
        `urn:oid:${studyUid}`,
        `urn:oid:${otherStudy}`,
      ]);
    });

    it('reads again when someone else wrote the ImagingStudy between its passes', async () => {
      const first = writer(studyUid, ['1.2.3.1.1']);
      await first.sync();
      // Our write will meet a newer version (another writer's update) and retry: that pass must read DICOM again.
      // A second instance the first sync did not have, so our pass has something to write.
      const ours = writer(studyUid, ['1.2.3.1.1', '1.2.3.1.2'], async () => {
        const [study] = await server.all<ImagingStudy>('ImagingStudy');
        await fhir.transaction({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { ...study!, description: 'changed by another writer' },
              request: { method: 'PUT', url: `ImagingStudy/${study!.id ?? ''}` },
            },
          ],
        });
      });
      const result = await ours.sync();
      assert.equal(result.attempts, 2);
      assert.equal(ours.reads(), 2);
    });
  });
}
