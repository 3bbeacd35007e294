import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { createInvocationContext } from '../../dev/functionsHost/invocationContext.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';
import { imagingStudyWriter } from '../../functions/imagingStudyWriter.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';
import { getRuntime } from '../../shared/runtime/runtime.js';
import { C, ctDoseContent, srFile, type CtEvent, type SrSpec } from '../support/doseReports.js';

/**
 * Radiation dose Observations end to end on the local stack: a study with two image series and a CT dose
 * report goes through the change feed, the queue and the real writer; the Observations are read back from
 * the FHIR server. Then replays, concurrent redeliveries, a changed report and deletes.
 */
describe('dose Observations on the local stack', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;

  before(async () => {
    stack = await startLocalStack({
      settings: {
        DicomCast__Features__GenerateObservations: 'true',
        DicomCast__Features__EnforceValidationOfTagValues: 'false',
      },
    });
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const study = uid('observations-e2e', 'study');
  const image = (series: number, instanceNumber: number, modality: string): InstanceSpec => ({
    studyUid: study,
    seriesUid: uid('observations-e2e', 'series', series),
    sopUid: uid('observations-e2e', 'sop', series, instanceNumber),
    patientId: 'DOSE-E2E',
    patientName: 'Dose^Eve',
    patientSex: 'F',
    modality,
    accessionNumber: 'ACC-E2E',
    studyDescription: 'CT chest with contrast',
    seriesNumber: series,
    instanceNumber,
    bodyPart: 'CHEST',
  });
  const eventUid = (n: number) => uid('observations-e2e', 'event', n);
  const report = (events: CtEvent[], dlpTotal: number): SrSpec => ({
    studyUid: study,
    seriesUid: uid('observations-e2e', 'series', 9),
    sopUid: uid('observations-e2e', 'dose-report'),
    patientId: 'DOSE-E2E',
    patientName: 'Dose^Eve',
    accessionNumber: 'ACC-E2E',
    title: C.xRayDoseReport,
    content: ctDoseContent(events, dlpTotal),
  });
  const firstEvents: CtEvent[] = [
    { uid: eventUid(1), ctdiVol: 11.2, dlp: 310.5 },
    { uid: eventUid(2), ctdiVol: 6.1, dlp: 140 },
  ];

  const observations = () => stack.fhir!.all<Observation>('Observation');
  const imagingStudies = () => stack.fhir!.all<ImagingStudy>('ImagingStudy');
  const identity = (observation: Observation) =>
    observation.identifier?.find((identifier) => identifier.system === 'urn:dicom:uid')?.value;
  const byIdentity = async () => new Map((await observations()).map((o) => [identity(o) ?? '', o]));

  it('writes the dose summary and one Observation per irradiation event, linked to the study and patient', async () => {
    await stack.dicom!.storeFiles([
      makeInstanceFile(image(1, 1, 'CT')),
      makeInstanceFile(image(1, 2, 'CT')),
      makeInstanceFile(image(2, 1, 'CT')),
      srFile(report(firstEvents, 450.5)),
    ]);
    await host.runOnce();

    const [imagingStudy] = await imagingStudies();
    assert.ok(imagingStudy);
    assert.equal(imagingStudy.numberOfSeries, 3);
    assert.equal(imagingStudy.numberOfInstances, 4);
    const [patient] = await stack.fhir!.all<Patient>('Patient');
    const found = await byIdentity();
    assert.deepEqual(
      [...found.keys()].sort(),
      [`urn:oid:${eventUid(1)}`, `urn:oid:${eventUid(2)}`, `urn:oid:${uid('observations-e2e', 'dose-report')}`].sort(),
    );
    for (const observation of found.values()) {
      assert.equal(observation.status, 'preliminary');
      assert.deepEqual(observation.partOf, [{ reference: `ImagingStudy/${imagingStudy.id}` }]);
      assert.equal(observation.subject?.reference, `Patient/${patient?.id}`);
    }
    const summary = found.get(`urn:oid:${uid('observations-e2e', 'dose-report')}`);
    assert.deepEqual(summary?.code.coding?.[0], {
      system: 'http://loinc.org',
      code: '73569-6',
      display: 'Radiation exposure and protection information',
    });
    assert.equal(summary?.identifier?.[1]?.value, 'ACC-E2E');
    const dlpTotal = summary?.component?.find((c) => c.code.coding?.[0]?.code === '113813');
    assert.deepEqual(dlpTotal?.valueQuantity, {
      value: 450.5,
      unit: 'mGy.cm',
      system: 'http://unitsofmeasure.org',
      code: 'mGy.cm',
    });
    const event = found.get(`urn:oid:${eventUid(1)}`);
    assert.equal(event?.code.coding?.[0]?.code, '113852');
    assert.deepEqual(
      event?.component?.map((c) => [
        c.code.coding?.[0]?.code,
        c.valueQuantity?.value ?? c.valueCodeableConcept?.coding?.[0]?.code,
      ]),
      [
        ['113830', 11.2],
        ['113835', '113691'],
        ['113838', 310.5],
      ],
    );
    assert.equal(event?.bodySite?.coding?.[0]?.code, 'T-D3000');
  });

  const message = (sequence: number): StudyMessage => ({
    study,
    maxSequence: sequence,
    changes: [
      {
        series: uid('observations-e2e', 'series', 9),
        sop: uid('observations-e2e', 'dose-report'),
        action: 'create',
        sequence,
        state: 'current',
      },
    ],
  });
  const deliver = (body: StudyMessage) => {
    const payload = JSON.parse(Buffer.from(encodeStudyMessage(body), 'base64').toString('utf8')) as unknown;
    return imagingStudyWriter(
      payload,
      createInvocationContext('imagingStudyWriter', { dequeueCount: 1 }, () => undefined),
    );
  };

  /** The dose report's newest change-feed sequence: a redelivery carries what the feed gave (a newer one moves the
   * Patient's demographics record forward, a write). */
  const reportSequence = async () => {
    const response = await fetch(`${stack.dicom!.url}/v2/changefeed?offset=0&limit=200&includeMetadata=false`);
    const rows = (await response.json()) as { sequence: number; sopInstanceUid: string }[];
    const sop = uid('observations-e2e', 'dose-report');
    return Math.max(...rows.filter((row) => row.sopInstanceUid === sop).map((row) => row.sequence));
  };

  it('a redelivery, even by 4 writers at once, changes nothing and costs no write', async () => {
    const before = await byIdentity();
    const sequence = await reportSequence();
    stack.fhir!.resetRequestCount();
    await deliver(message(sequence));
    const counts = stack.fhir!.requestCounts();
    // ImagingStudy, Endpoint, Patient and one Observation search (part-of the study); nothing to write.
    assert.equal(counts.transaction ?? 0, 0, JSON.stringify(counts));
    assert.ok((counts['search-type'] ?? 0) <= 5, JSON.stringify(counts));

    await Promise.all([1, 2, 3, 4].map(() => deliver(message(sequence))));
    const after = await byIdentity();
    assert.equal((await observations()).length, 3);
    for (const [key, observation] of after) assert.equal(observation.meta?.versionId, before.get(key)?.meta?.versionId);
  });

  it('a re-stored report with other values updates the same Observations (a replay never duplicates)', async () => {
    const before = await byIdentity();
    const changed: CtEvent[] = [firstEvents[0] as CtEvent, { uid: eventUid(2), ctdiVol: 6.1, dlp: 155 }];
    await stack.dicom!.storeFiles([srFile(report(changed, 465.5))]);
    await host.runOnce();
    await Promise.all([deliver(message(2000)), deliver(message(2001))]);

    const after = await byIdentity();
    assert.equal(after.size, 3);
    for (const [key, observation] of after) assert.equal(observation.id, before.get(key)?.id, key);
    const event = after.get(`urn:oid:${eventUid(2)}`);
    assert.equal(event?.component?.find((c) => c.code.coding?.[0]?.code === '113838')?.valueQuantity?.value, 155);
    assert.notEqual(event?.meta?.versionId, before.get(`urn:oid:${eventUid(2)}`)?.meta?.versionId);
    const untouched = after.get(`urn:oid:${eventUid(1)}`);
    assert.equal(untouched?.meta?.versionId, before.get(`urn:oid:${eventUid(1)}`)?.meta?.versionId);
  });

  it('deleting the SR instance deletes exactly the Observations it produced', async () => {
    const other: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'written by someone else' },
      partOf: [{ reference: `ImagingStudy/${(await imagingStudies())[0]?.id}` }],
    };
    const response = await fetch(`${stack.fhirUrl}/Observation`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(other),
    });
    assert.equal(response.status, 201);

    await stack.dicom!.deleteInstance(
      study,
      uid('observations-e2e', 'series', 9),
      uid('observations-e2e', 'dose-report'),
    );
    await host.runOnce();

    const left = await observations();
    assert.deepEqual(
      left.map((o) => o.code.text),
      ['written by someone else'],
    );
    const [imagingStudy] = await imagingStudies();
    assert.equal(imagingStudy?.numberOfInstances, 3);
    assert.equal(imagingStudy?.numberOfSeries, 2);
  });

  it('deleting the study deletes its ImagingStudy and our Observations with it', async () => {
    await stack.dicom!.storeFiles([srFile(report(firstEvents, 450.5))]);
    await host.runOnce();
    assert.equal((await observations()).length, 4);

    await stack.dicom!.deleteStudy(study);
    await host.runOnce();
    assert.deepEqual(await imagingStudies(), []);
    assert.deepEqual(
      (await observations()).map((o) => o.code.text),
      ['written by someone else'],
    );
  });
});

describe('tag validation policy on the local stack (EnforceValidationOfTagValues)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;

  before(async () => {
    stack = await startLocalStack({
      settings: {
        DicomCast__Features__EnforceValidationOfTagValues: 'true',
        DicomCast__Features__GenerateObservations: 'false',
        DicomCast__FailureTable: 'EnforcedFailures',
      },
    });
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    // Later tests in this process must not inherit the setting.
    process.env.DicomCast__Features__EnforceValidationOfTagValues = 'false';
    await stack.close();
  });

  it('an invalid tag value fails that instance only, recorded as bad DICOM data naming the tag and value', async () => {
    const spec = (n: number, extra?: InstanceSpec['extra']): InstanceSpec => ({
      studyUid: uid('enforced', 'study'),
      seriesUid: uid('enforced', 'series'),
      sopUid: uid('enforced', 'sop', n),
      patientId: 'ENFORCED-1',
      patientName: 'Strict^Sam',
      modality: 'CT',
      instanceNumber: n,
      ...(extra ? { extra } : {}),
    });
    await stack.dicom!.storeFiles([
      makeInstanceFile(spec(1)),
      makeInstanceFile(spec(2, { '00080201': { vr: 'SH', Value: ['0'] } })),
    ]);
    await host.runOnce();

    const [imagingStudy] = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.deepEqual(
      imagingStudy?.series?.flatMap((series) => series.instance?.map((instance) => instance.uid)),
      [uid('enforced', 'sop', 1)],
    );
    const failures = await (await getRuntime()).failures.list();
    const failure = failures.find((candidate) => candidate.instance === uid('enforced', 'sop', 2));
    assert.equal(failure?.category, 'bad-dicom-data');
    assert.equal(failure?.tag, '(0008,0201)');
    assert.match(failure?.reason ?? '', /not a valid offset .*"0"/);
  });
});
