import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { parseStudyStateBatch, readStudyState, studyStateBatch } from '../../../shared/fhir/readStudyState.js';
import { imagingStudyIdentifier, toEndpoint } from '../../../shared/mapping/index.js';
import { options as mapping } from '../../support/mappingFixtures.js';

const study = '1.2.826.0.1.3680043.8.498.1';

describe("readStudyState: the writer's FHIR reads in one batch (real FHIR server)", () => {
  let fhir: RunningFhirServer;
  let post: (bundle: Bundle) => Promise<Bundle>;
  before(async () => {
    fhir = await startFhirServer();
    const client = createFhirClient({ baseUrl: fhir.url, authorization: noAuthorization });
    post = (bundle) => client.batch(bundle);
  });
  after(() => fhir.close());
  beforeEach(async () => {
    await fhir.reset();
    fhir.resetRequestCount();
  });

  async function create<T extends Patient | ImagingStudy | Endpoint>(resource: T): Promise<T> {
    const response = await fetch(`${fhir.url}/${resource.resourceType}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    assert.equal(response.status, 201);
    return (await response.json()) as T;
  }

  const imagingStudyOf = (patient: Patient, endpoint: Endpoint): ImagingStudy => ({
    resourceType: 'ImagingStudy',
    status: 'available',
    identifier: [imagingStudyIdentifier(study)],
    subject: { reference: `Patient/${patient.id ?? ''}` },
    endpoint: [{ reference: `Endpoint/${endpoint.id ?? ''}` }],
  });

  it('reads nothing for a new study, in one request', async () => {
    assert.deepEqual(await readStudyState(post, study, mapping), {});
    assert.deepEqual(fhir.requestCounts(), { batch: 1 });
  });

  it('returns the ImagingStudy, its subject Patient and the Endpoint, versions included, in one request', async () => {
    const patient = await create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:x', value: 'p1' }] });
    const endpoint = await create(toEndpoint(mapping));
    const imagingStudy = await create(imagingStudyOf(patient, endpoint));
    // Another server's Endpoint, whose name our name search also matches (by prefix): not ours.
    await create({ ...toEndpoint({ ...mapping, endpoint: `${mapping.endpoint}2` }) });
    fhir.resetRequestCount();

    const state = await readStudyState(post, study, mapping, { includeSubject: true });
    assert.equal(state.imagingStudy?.id, imagingStudy.id);
    assert.equal(state.imagingStudy?.meta?.versionId, imagingStudy.meta?.versionId);
    assert.equal(state.subject?.id, patient.id);
    assert.equal(state.endpoint?.id, endpoint.id);
    const withoutSubject = await readStudyState(post, study, mapping);
    assert.equal(withoutSubject.imagingStudy?.id, imagingStudy.id);
    assert.equal(withoutSubject.subject, undefined);
    assert.deepEqual(fhir.requestCounts(), { batch: 2 });
  });

  it('refuses to choose between two ImagingStudies of the study', async () => {
    const patient = await create<Patient>({ resourceType: 'Patient' });
    const endpoint = await create(toEndpoint(mapping));
    await create(imagingStudyOf(patient, endpoint));
    await create(imagingStudyOf(patient, endpoint));
    await assert.rejects(
      readStudyState(post, study, mapping),
      (error: unknown) =>
        error instanceof NonRetryableError && error.category === 'ambiguous-identity' && error.location.study === study,
    );
  });

  it('says whether a failed entry is worth retrying', () => {
    const answered = (status: string): Bundle => ({
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: studyStateBatch(study, mapping).entry?.map(() => ({ response: { status } })),
    });
    assert.throws(() => parseStudyStateBatch(answered('503 Service Unavailable'), study, mapping), RetryableError);
    assert.throws(() => parseStudyStateBatch(answered('429 Too Many Requests'), study, mapping), RetryableError);
    assert.throws(
      () => parseStudyStateBatch(answered('400 Bad Request'), study, mapping),
      (error: unknown) => error instanceof NonRetryableError && /ImagingStudy answered 400/.test(error.message),
    );
  });
});
