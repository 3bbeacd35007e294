import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { MetadataReuse } from '../../../shared/sync/metadataReuse.js';

const imagingStudy = (id: string, versionId?: string): ImagingStudy => ({
  resourceType: 'ImagingStudy',
  status: 'available',
  subject: { reference: 'Patient/p' },
  id,
  ...(versionId !== undefined ? { meta: { versionId } } : {}),
});

/** A reader that counts its reads and returns a new array each time. */
function countingReader() {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    read: () => {
      reads++;
      return Promise.resolve([{ '0020000D': { vr: 'UI', Value: [`read ${reads}`] } }] as DicomJsonDataset[]);
    },
  };
}

describe('MetadataReuse: DICOM metadata kept across the passes of one sync while the fence is unchanged', () => {
  it('reuses what it read while the ImagingStudy is still absent, or at the same version', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    const first = await reuse.read(undefined, dicom.read);
    assert.equal(await reuse.read(undefined, dicom.read), first);
    assert.equal(dicom.reads, 1);

    const atVersion1 = await reuse.read(imagingStudy('s', '1'), dicom.read);
    assert.notEqual(atVersion1, first);
    assert.equal(await reuse.read(imagingStudy('s', '1'), dicom.read), atVersion1);
    assert.equal(dicom.reads, 2);
  });

  it('reads again once anyone wrote the ImagingStudy: another version, another copy, or gone', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    await reuse.read(imagingStudy('s', '1'), dicom.read);
    await reuse.read(imagingStudy('s', '2'), dicom.read);
    await reuse.read(imagingStudy('t', '2'), dicom.read);
    await reuse.read(undefined, dicom.read);
    assert.equal(dicom.reads, 4);
  });

  it('never reuses for an ImagingStudy without a versionId (nothing proves it unchanged)', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    await reuse.read(imagingStudy('s'), dicom.read);
    await reuse.read(imagingStudy('s'), dicom.read);
    assert.equal(dicom.reads, 2);
  });

  it('keeps nothing from a failed read', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    await assert.rejects(
      reuse.read(undefined, () => Promise.reject(new Error('503'))),
      /503/,
    );
    await reuse.read(undefined, dicom.read);
    assert.equal(dicom.reads, 1);
  });

  it('after this sync wrote the ImagingStudy from the kept metadata, reuses it at exactly that version', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    const kept = await reuse.read(undefined, dicom.read);
    reuse.wrote({ id: 's', versionId: '1' });
    assert.equal(await reuse.read(imagingStudy('s', '1'), dicom.read), kept);
    assert.equal(dicom.reads, 1);
    reuse.wrote({ id: 's', versionId: '2' });
    await reuse.read(imagingStudy('s', '3'), dicom.read);
    assert.equal(dicom.reads, 2);
  });

  it('a write reported before anything was read keeps nothing to reuse', async () => {
    const dicom = countingReader();
    const reuse = new MetadataReuse();
    reuse.wrote({ id: 's', versionId: '1' });
    const read = await reuse.read(imagingStudy('s', '1'), dicom.read);
    assert.equal(dicom.reads, 1);
    assert.deepEqual(read, [{ '0020000D': { vr: 'UI', Value: ['read 1'] } }]);
  });
});
