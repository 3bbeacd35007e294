import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../../dev/samples/index.js';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { StudyReader } from '../../../shared/dicomweb/studyReader.js';
import { createRuntime } from '../../../shared/runtime/runtime.js';
import type { Failure } from '../../../shared/errors/errors.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { attr, instance } from '../../support/mappingFixtures.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * Identities that a FHIR search matches loosely (the local server, like others, folds case and mishandles `\|`
 * escapes: `identifier=|A\|B` returns Patient `A`). Each must get its own resource, and never be linked to,
 * rename or overwrite the one the search returned.
 */
describe('hostile identities: a search result is used only when its identifier matches exactly', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;

  before(async () => {
    stack = await startLocalStack({ settings: { DicomWeb__ChangeFeed__PageSize: '10' } });
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  async function store(studyUid: string, patientId: string, patientName: string): Promise<string> {
    const seriesUid = uid('hostile', studyUid, 'series');
    const sopUid = uid('hostile', studyUid, 'sop');
    await stack.dicom!.storeFiles([
      makeInstanceFile({ studyUid, seriesUid, sopUid, patientId, patientName, modality: 'CT' }),
    ]);
    return sopUid;
  }

  const patientOf = (patients: Patient[], study: ImagingStudy | undefined) =>
    patients.find((patient) => study?.subject.reference === `Patient/${patient.id}`);
  const studyOf = (studies: ImagingStudy[], value: string) =>
    studies.filter((study) => study.identifier?.some((identifier) => identifier.value === value));

  it('PatientIDs A|B, A| and a each get their own Patient; Patient A keeps its name and its study', async () => {
    const studyA = uid('hostile', 'patient', 'A');
    await store(studyA, 'A', 'Alpha^Anna');
    await host.runOnce();
    const hostile = [
      { patientId: 'A|B', name: 'Bar^Bert', study: uid('hostile', 'patient', 'A|B') },
      { patientId: 'A|', name: 'Pipe^Paul', study: uid('hostile', 'patient', 'A|') },
      { patientId: 'a', name: 'Lower^Lena', study: uid('hostile', 'patient', 'a') },
    ];
    for (const input of hostile) await store(input.study, input.patientId, input.name);
    await host.runOnce();

    const patients = await stack.fhir!.all<Patient>('Patient');
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.deepEqual(
      patients.map((patient) => JSON.stringify(patient.identifier)).sort(),
      ['A', 'A|', 'A|B', 'a'].map((value) => JSON.stringify([{ value }])).sort(),
      'one Patient per exact PatientID',
    );
    for (const input of [{ patientId: 'A', name: 'Alpha', study: studyA }, ...hostile]) {
      const [study, ...more] = studyOf(studies, `urn:oid:${input.study}`);
      assert.equal(more.length, 0, `one ImagingStudy for ${input.patientId}`);
      const subject = patientOf(patients, study);
      assert.deepEqual(subject?.identifier, [{ value: input.patientId }], `study of ${input.patientId}: its subject`);
      assert.equal(subject?.name?.[0]?.family, input.name.split('^')[0], `Patient ${input.patientId} keeps its name`);
    }
  });

  it('study 1.2.6.50| is refused where the data enters; study 1.2.6.50 keeps its series and subject', async () => {
    // A UID with `|` is refused by the DICOM stand-in, so a reader serving the metadata stands in for a hostile
    // DICOM server here; the FHIR side is the real local server. The DICOM JSON screening refuses the instance
    // (StudyInstanceUID is not a UID), so nothing is written for it and nothing of study 1.2.6.50 is touched. (The
    // writer's exact-identifier check behind it is what keeps the PatientIDs above apart.)
    const runtime = await createRuntime(stack.settings);
    const held = new Map<string, DicomJsonDataset[]>();
    const failures: Failure[] = [];
    const dicom: StudyReader = studyReaderOver(async (study) => held.get(study) ?? []);
    const deps = {
      dicom,
      fhir: runtime.fhir,
      recordFailure: async (failure: Failure) => void failures.push(failure),
    };
    const sync = async (study: string, patientId: string) => {
      const series = uid('hostile', study, 'series');
      const sop = uid('hostile', study, 'sop');
      held.set(study, [
        instance(series, sop, { [Tag.StudyInstanceUID]: attr('UI', study), [Tag.PatientID]: attr('LO', patientId) }),
      ]);
      const changes = [{ series, sop, action: 'create' as const, sequence: 1, state: 'current' as const }];
      return syncStudy({ study, maxSequence: 1, changes }, deps, { mapping: runtime.mapping });
    };
    const plain = '1.2.6.50';
    const piped = '1.2.6.50|';
    assert.equal((await sync(plain, 'P-50')).outcome, 'created');
    const before = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.equal((await sync(piped, 'P-50|')).outcome, 'unchanged');
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(failures[0]?.category, 'bad-dicom-data');
    assert.equal(failures[0]?.tag, '(0020,000D)');
    assert.equal((await sync(plain, 'P-50')).outcome, 'unchanged', 'study 1.2.6.50 still holds its own data');

    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    const patients = await stack.fhir!.all<Patient>('Patient');
    assert.deepEqual(studies, before, 'nothing written for the refused study');
    const [plainStudy, ...plainMore] = studyOf(studies, `urn:oid:${plain}`);
    assert.equal(plainMore.length, 0);
    assert.equal(studyOf(studies, `urn:oid:${piped}`).length, 0);
    assert.deepEqual(
      plainStudy?.series?.map((series) => series.uid),
      [uid('hostile', plain, 'series')],
    );
    assert.deepEqual(patientOf(patients, plainStudy)?.identifier, [{ value: 'P-50' }]);
    assert.equal(
      patients.some((patient) => patient.identifier?.some((identifier) => identifier.value === 'P-50|')),
      false,
    );
  });
});
