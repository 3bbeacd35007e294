import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tag } from '../../../../shared/dicomweb/dicomJson.js';
import { screenStudy } from '../../../../shared/mapping/transaction/screen.js';
import { instance, options, studyUid } from '../../../support/mappingFixtures.js';

/**
 * The first look at a study's instances: those without the identifiers nothing can be done without (SOP Instance
 * UID, Series Instance UID, Patient ID) are left out and recorded, naming the tag, where the instance stands and the
 * change-feed sequence that replays it; the others keep their sequence (the instance stored last wins).
 */
describe('screenStudy', () => {
  const series = '1.2.3.1';
  const sequences = new Map([
    ['1.1', 11],
    ['1.2', 12],
    ['1.3', 13],
  ]);

  it('keeps usable instances with their sequence; records the others with the missing tag, place and sequence', () => {
    const screened = screenStudy(
      {
        study: studyUid,
        sequences,
        datasets: [
          instance(series, '1.1'),
          instance(series, '1.2', { [Tag.PatientID]: null }),
          instance(series, '1.3', { [Tag.SeriesInstanceUID]: null }),
          instance(series, '1.4', { [Tag.SOPInstanceUID]: null }),
          instance(series, '1.5'),
        ],
      },
      options,
    );
    assert.equal(screened.returned, 5);
    assert.deepEqual(
      screened.instances.map((kept) => kept.sequence),
      [11, undefined],
    );
    assert.equal('sequence' in screened.instances[1]!, false, 'no sequence known: none set');
    assert.deepEqual(screened.failures, [
      {
        category: 'bad-dicom-data',
        reason: 'Instance has no PatientID (0010,0020); it is left out of the ImagingStudy',
        study: studyUid,
        series,
        instance: '1.2',
        tag: '(0010,0020)',
        sequence: 12,
      },
      {
        category: 'bad-dicom-data',
        reason: 'Instance has no SeriesInstanceUID (0020,000E); it is left out of the ImagingStudy',
        study: studyUid,
        instance: '1.3',
        tag: '(0020,000E)',
        sequence: 13,
      },
      {
        category: 'bad-dicom-data',
        reason: 'Instance has no SOPInstanceUID (0008,0018); it is left out of the ImagingStudy',
        study: studyUid,
        series,
        tag: '(0008,0018)',
      },
    ]);
    assert.deepEqual([...screened.read.records.keys()].sort(), ['1.1', '1.5'], 'only the usable instances are read');
  });
});
