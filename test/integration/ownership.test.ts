import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { FHIR_PROFILE_NAMES } from '../../dev/fhir-server/profiles.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../dev/samples/index.js';

/**
 * Ownership survives the server: a study we wrote is deleted when DICOM deletes it (HAPI stores our meta.source as
 * `<source>#<requestId>`), a study someone else wrote (another meta.source, even one we extend by a prefix) never is.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`ownership of ImagingStudies (FHIR profile ${profile})`, () => {
    let stack: LocalStack;
    let host: LocalFunctionsHost;

    before(async () => {
      stack = await startLocalStack({ fhirProfile: profile });
      host = new LocalFunctionsHost({ settings: stack.settings });
    });
    after(async () => {
      await stack.close();
    });

    const store = (study: string) =>
      stack.dicom!.storeFiles([
        makeInstanceFile({
          studyUid: study,
          seriesUid: uid('ownership', study, 'series'),
          sopUid: uid('ownership', study, 'sop'),
          patientId: 'OWN-1',
          patientName: 'Own^Olga',
          modality: 'CT',
        }),
      ]);
    const studyWith = async (study: string) =>
      (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find((s) =>
        s.identifier?.some((i) => i.value === `urn:oid:${study}`),
      );

    it('a study we wrote is ours: deleted with the DICOM study', async () => {
      const study = uid('ownership', profile, 'ours');
      await store(study);
      await host.runOnce();
      const written = await studyWith(study);
      assert.ok(written?.meta?.source?.startsWith(stack.dicomUrl));
      if (profile === 'hapi') assert.match(written?.meta?.source ?? '', /#/, 'HAPI appended a request id');
      await stack.dicom!.deleteStudy(study);
      await host.runOnce();
      assert.equal(await studyWith(study), undefined);
    });

    it('a study someone else wrote is never deleted by us', async () => {
      for (const [index, source] of [`${stack.dicomUrl}0`, 'https://other-pacs.example'].entries()) {
        const study = uid('ownership', profile, 'theirs', index);
        await store(study);
        await host.runOnce();
        const written = await studyWith(study);
        // Someone else's study: their meta.source (a URL that merely starts with ours included).
        const response = await fetch(`${stack.fhirUrl}/ImagingStudy/${written?.id ?? ''}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ ...written, meta: { source } }),
        });
        assert.ok(response.ok);
        await stack.dicom!.deleteStudy(study);
        await host.runOnce();
        const kept = await studyWith(study);
        assert.equal(kept?.id, written?.id, `the study of ${source} is kept`);
      }
    });
  });
}
