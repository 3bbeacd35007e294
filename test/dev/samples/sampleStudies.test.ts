import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getPersonName, getString, Tag } from '../../../shared/dicomweb/dicomJson.js';
import { readPart10 } from '../../../dev/dicom-server/dcmjs.js';
import { parseInstance } from '../../../dev/dicom-server/part10.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  makeInstanceFile,
  makeSampleStudies,
  SopClass,
  uid,
} from '../../../dev/samples/index.js';

void describe('sample DICOM files', () => {
  void it('derives stable 2.25 UIDs from their parts', () => {
    assert.equal(uid('study', 1), uid('study', 1));
    assert.notEqual(uid('study', 1), uid('study', 2));
    assert.match(uid('x'), /^2\.25\.[1-9][0-9]{0,38}$/);
  });

  void it('makes the same studies from the same seed, spread over the patients asked for', () => {
    const options = { studies: 6, seriesPerStudy: 2, instancesPerSeries: 3, patients: 2, seed: 5 };
    const specs = makeSampleStudies(options);
    assert.deepEqual(specs, makeSampleStudies(options));
    assert.notDeepEqual(specs, makeSampleStudies({ ...options, seed: 6 }));
    assert.equal(specs.length, 36);
    assert.equal(new Set(specs.map((s) => s.sopUid)).size, 36);
    assert.equal(new Set(specs.map((s) => s.studyUid)).size, 6);
    assert.equal(new Set(specs.map((s) => s.patientId)).size, 2);
    for (const spec of specs) {
      assert.ok(['CT', 'MR'].includes(spec.modality));
      assert.match(spec.studyDate!, /^20(1[5-9]|2[0-4])\d{4}$/);
    }
  });

  void it('writes real Part-10 files: Explicit VR Little Endian, image SOP class, 8x8 16-bit pixels', () => {
    const [spec] = makeSampleStudies({ studies: 1, seriesPerStudy: 1, instancesPerSeries: 1, seed: 9 });
    const file = makeInstanceFile({
      ...spec!,
      modality: 'MR',
      extra: { '00081030': { vr: 'LO', Value: ['Override'] } },
    });
    assert.equal(file.subarray(128, 132).toString('latin1'), 'DICM');
    const parsed = readPart10(file);
    assert.deepEqual(parsed.meta['00020010']?.Value, [EXPLICIT_VR_LITTLE_ENDIAN]);
    assert.deepEqual(parsed.meta['00020002']?.Value, [SopClass.MRImageStorage]);
    const pixels = parsed.dict['7FE00010']?.Value?.[0];
    assert.ok(pixels instanceof ArrayBuffer);
    assert.equal(pixels.byteLength, 8 * 8 * 2);

    const { dataset, study, series, sop } = parseInstance(file);
    assert.deepEqual([study, series, sop], [spec!.studyUid, spec!.seriesUid, spec!.sopUid]);
    assert.deepEqual(getPersonName(dataset, Tag.PatientName), { Alphabetic: spec!.patientName });
    assert.equal(getString(dataset, Tag.PatientBirthDate), spec!.birthDate);
    assert.equal(getString(dataset, Tag.StudyDescription), 'Override');
    assert.equal(getString(dataset, Tag.Modality), 'MR');
    assert.equal(getString(dataset, Tag.SOPClassUID), SopClass.MRImageStorage);
  });
});
