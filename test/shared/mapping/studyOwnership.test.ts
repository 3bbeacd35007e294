import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { FhirStudyState } from '../../../shared/mapping/transaction/plan.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import { instance, options, studyUid } from '../../support/mappingFixtures.js';
import { bundleOf, storedStudyState } from '../../support/studyPlans.js';

/**
 * How buildStudyTransaction wires ownership into the ImagingStudy it writes: ours (meta.source is this DICOM server)
 * is rebuilt from what the server holds; another server's keeps its owner and its instances, and loses only the
 * instances this message names that our server no longer holds.
 */
const ct = (sop: string) => instance('1.2.3.1', sop);
const other = 'https://other.example.com';

const existing = (source: string, sops: string[]): FhirStudyState =>
  storedStudyState(sops, { meta: { versionId: '4', source } });

function written(datasets: DicomJsonDataset[], state: FhirStudyState, changedInstances?: string[]) {
  const plan = buildStudyTransaction(
    { study: studyUid, datasets, state, applyDemographics: false, ...(changedInstances ? { changedInstances } : {}) },
    options,
  );
  const entry = bundleOf(plan)?.entry?.find((e) => e.resource?.resourceType === 'ImagingStudy');
  const study = entry?.resource as ImagingStudy | undefined;
  return {
    plan,
    entry,
    source: study?.meta?.source,
    instances: (study?.series ?? []).flatMap((s) => (s.instance ?? []).map((i) => i.uid)).sort(),
  };
}

describe('buildStudyTransaction: whose study it is', () => {
  it('ours: rebuilt from what our server holds (an instance gone is removed), with If-Match on the version read', () => {
    const state = existing(options.endpoint, ['1.1', '1.2']);
    const result = written([ct('1.2')], state, ['1.1']);
    assert.deepEqual(result.instances, ['1.2']);
    assert.equal(result.source, options.endpoint);
    assert.equal(result.entry?.request?.method, 'PUT');
    assert.equal(result.entry?.request?.ifMatch, 'W/"4"');
  });

  it('another server’s: keeps its owner and its instances, adds ours', () => {
    const state = existing(other, ['9.1']);
    const result = written([ct('1.1')], state, ['1.1']);
    assert.deepEqual(result.instances, ['1.1', '9.1']);
    assert.equal(result.source, other);
  });

  it('another server’s: loses only the changed instances our server no longer holds', () => {
    const state = existing(other, ['9.1', '1.1', '1.2']);
    // 1.1 was deleted on our server; 1.2 is still there although the message does not name it; 9.1 is theirs.
    assert.deepEqual(written([ct('1.2')], state, ['1.1']).instances, ['1.2', '9.1']);
    // A message that names an instance our server still holds removes nothing.
    assert.deepEqual(written([ct('1.1'), ct('1.2')], state, ['1.1']).instances, ['1.1', '1.2', '9.1']);
    // Without the message's instances nothing is removed from another server's study.
    assert.deepEqual(written([ct('1.2')], state).instances, ['1.1', '1.2', '9.1']);
  });

  it('ours: an instance our server no longer holds is removed even when the message does not name it', () => {
    const state = existing(options.endpoint, ['1.1', '1.2', '1.3']);
    assert.deepEqual(written([ct('1.2'), ct('1.3')], state, ['1.3']).instances, ['1.2', '1.3']);
    assert.deepEqual(written([ct('1.2')], state).instances, ['1.2']);
  });
});
