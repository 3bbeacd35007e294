import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { options as mapping } from '../../support/mappingFixtures.js';
import { change, ct, recordingDeps, sop, studyMessage } from '../../support/studySync.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * The same study UID in two partitions is two studies: the writer reads the metadata of the partition the message
 * names, never the default partition's. On the real local FHIR server, every profile; the DICOM side holds other
 * instances under each partition.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy reads the message's partition (local FHIR server, profile ${profile})`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;
    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });
    beforeEach(async () => {
      await createOurEndpoint(fhir, mapping);
    });

    it('a named partition’s study is written from that partition’s metadata', async () => {
      const held: Record<string, DicomJsonDataset[]> = { '': [ct(1)], foo: [ct(2)] };
      const asked: (string | undefined)[] = [];
      const { deps, recorder } = recordingDeps(fhir, () => [], {
        dicom: {
          ...studyReaderOver(async (_study, partition) => {
            asked.push(partition);
            return held[partition ?? ''] ?? [];
          }),
        },
      });
      const synced = await syncStudy({ ...studyMessage(change(2, 1)), partition: 'foo' }, deps, { mapping });
      assert.equal(synced.outcome, 'created');
      assert.deepEqual(asked, ['foo']);
      assert.deepEqual(recorder.failures, []);
      const [study] = await server.all<ImagingStudy>('ImagingStudy');
      assert.deepEqual(
        study?.series?.flatMap((series) => series.instance?.map((instance) => instance.uid)),
        [sop(2)],
      );
    });
  });
}
