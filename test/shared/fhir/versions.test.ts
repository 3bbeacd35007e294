import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writtenVersion } from '../../../shared/fhir/versions.js';

describe('writtenVersion: the id and version a write entry answered', () => {
  it('reads relative (Medplum, HAPI) and absolute (AHDS) locations, else the ETag', () => {
    assert.deepEqual(writtenVersion({ status: '201', location: 'ImagingStudy/a1/_history/3' }, 'ImagingStudy'), {
      id: 'a1',
      versionId: '3',
    });
    assert.deepEqual(
      writtenVersion(
        { status: '200', location: 'https://x.fhir.azurehealthcareapis.com/ImagingStudy/b2/_history/7' },
        'ImagingStudy',
      ),
      { id: 'b2', versionId: '7' },
    );
    assert.deepEqual(writtenVersion({ status: '200', location: 'ImagingStudy/c3', etag: 'W/"4"' }, 'ImagingStudy'), {
      id: 'c3',
      versionId: '4',
    });
  });

  it('names nothing when the id or the version is missing, or the location is another type', () => {
    assert.equal(writtenVersion({ status: '200', location: 'ImagingStudy/c3' }, 'ImagingStudy'), undefined);
    assert.equal(writtenVersion({ status: '200', etag: 'W/"4"' }, 'ImagingStudy'), undefined);
    assert.equal(writtenVersion({ status: '201', location: 'Patient/p/_history/1' }, 'ImagingStudy'), undefined);
    assert.equal(writtenVersion(undefined, 'ImagingStudy'), undefined);
  });

  it('reads a strong or weak ETag whole; an ETag with anything around its quoted version names none', () => {
    const at = (etag: string) => writtenVersion({ status: '200', location: 'ImagingStudy/c3', etag }, 'ImagingStudy');
    assert.deepEqual(at('"12"'), { id: 'c3', versionId: '12' });
    assert.deepEqual(at('W/"12"'), { id: 'c3', versionId: '12' });
    assert.equal(at('W/"12"x'), undefined);
    assert.equal(at('xW/"12"'), undefined);
    assert.equal(at('W/""'), undefined);
  });
});
