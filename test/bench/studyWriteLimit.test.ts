import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { LIMIT_IDENTIFIER_SYSTEM, limitTransaction } from '../../bench/studyWriteLimit.js';
import { imagingStudyIdentifier } from '../../shared/mapping/index.js';

const studyUid = '1.2.3.4';
const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 'sync-study',
  meta: { versionId: '7', lastUpdated: '2026-12-05T00:00:00Z', source: 'https://dicom.example/#partition' },
  identifier: [imagingStudyIdentifier(studyUid)],
  status: 'available',
  subject: { reference: 'Patient/p1' },
  note: [{ text: 'kept' }],
  series: [{ uid: '1.2.3.4.1', modality: { code: 'CT' }, instance: [{ uid: '1.2.3.4.1.1', sopClass: { code: '1' } }] }],
};

describe('limitTransaction', () => {
  it("first creates the limit's own study, found by its own identifier, never the study under test", () => {
    const [entry, ...rest] = limitTransaction(study, studyUid, 1, undefined).entry ?? [];
    assert.equal(rest.length, 0);
    assert.equal(entry?.request?.method, 'POST');
    assert.equal(
      entry?.request?.ifNoneExist,
      `identifier=${encodeURIComponent(`${LIMIT_IDENTIFIER_SYSTEM}|${studyUid}`)}`,
    );
    const written = entry?.resource as ImagingStudy;
    assert.deepEqual(written.identifier, [{ system: LIMIT_IDENTIFIER_SYSTEM, value: studyUid }]);
    assert.equal(written.id, undefined);
    assert.deepEqual(written.meta, { source: 'https://dicom.example/#partition' });
    assert.deepEqual(written.series, study.series);
    assert.deepEqual(written.subject, study.subject);
  });

  it('then updates the stored version with If-Match, the whole content and a note naming the poll', () => {
    const bundle = limitTransaction(study, studyUid, 5, { id: 'limit-1', versionId: '4' });
    assert.equal(bundle.type, 'transaction');
    const [entry] = bundle.entry ?? [];
    assert.deepEqual(entry?.request, { method: 'PUT', url: 'ImagingStudy/limit-1', ifMatch: 'W/"4"' });
    const written = entry?.resource as ImagingStudy;
    assert.equal(written.id, 'limit-1');
    assert.equal(written.meta?.versionId, '4');
    assert.deepEqual(written.series, study.series);
    assert.deepEqual(written.note, [{ text: 'kept' }, { text: 'bench limit, poll 5' }]);
    // The same study at the next poll is still new content, even for a server that skips identical updates.
    const next = limitTransaction(study, studyUid, 6, { id: 'limit-1', versionId: '5' }).entry?.[0]?.resource;
    assert.notDeepEqual((next as ImagingStudy).note, written.note);
  });
});
