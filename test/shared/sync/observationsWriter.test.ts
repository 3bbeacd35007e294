import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, ImagingStudy, Resource } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { toEndpoint } from '../../../shared/mapping/endpoint.js';
import type { MappingOptions } from '../../../shared/mapping/types.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import type { Failure } from '../../../shared/errors/errors.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { ctDoseReport } from '../../support/ctDoseReport.js';
import { instance, options as baseOptions, studyUid } from '../../support/mappingFixtures.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * The writer's side of the dose Observations and of the R4 check, against a scripted FHIR client: which
 * requests it makes, what it records, and that a resource failing validation is never sent.
 */
const mapping: MappingOptions = { ...baseOptions, generateObservations: true };

class ScriptedFhir implements FhirClient {
  readonly searches: string[] = [];
  readonly transactions: Bundle[] = [];
  /** Every search of a type answers `found[type]`; the Endpoint exists (the writer creates it on its own first). */
  constructor(private readonly found: Partial<Record<string, Resource[]>> = {}) {
    this.found = { Endpoint: [{ ...toEndpoint(mapping), id: 'e1', meta: { versionId: '1' } }], ...found };
  }

  async search<T extends Resource>(resourceType: T['resourceType'], params: Record<string, string>): Promise<T[]> {
    this.searches.push(`${resourceType}?${new URLSearchParams(params).toString()}`);
    return (this.found[resourceType] ?? []) as T[];
  }

  async transaction(bundle: Bundle): Promise<Bundle> {
    this.transactions.push(bundle);
    return {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: (bundle.entry ?? []).map((entry, index) => ({
        response: { status: '201 Created', location: `${entry.resource?.resourceType ?? 'X'}/new${index}/_history/1` },
      })),
    };
  }
}

const sr = ctDoseReport([{ uid: '1.2.3.100.1', ctdiVol: 3, dlp: 9 }], 9);
const ct = instance('1.2.3.1', '1.2.3.1.1');
const message: StudyMessage = {
  study: studyUid,
  maxSequence: 2,
  changes: [
    { series: '1.2.3.1', sop: '1.2.3.1.1', action: 'create', sequence: 1, state: 'current' },
    { series: '1.2.3.9', sop: '1.2.3.9.1', action: 'create', sequence: 2, state: 'current' },
  ],
};

function run(
  datasets: DicomJsonDataset[],
  fhir: ScriptedFhir,
  validate?: (resource: Resource) => { path: string; message: string }[],
) {
  const failures: Failure[] = [];
  const result = syncStudy(
    message,
    {
      dicom: studyReaderOver(async () => datasets),
      fhir,
      recordFailure: async (failure) => {
        failures.push(failure);
      },
      ...(validate ? { validate } : {}),
    },
    { mapping },
  );
  return { result, failures };
}

describe('the writer: dose Observations and the R4 check', () => {
  it('a new study with a dose report: no Observation search, one transaction with the Observations', async () => {
    const fhir = new ScriptedFhir();
    const { result } = run([ct, sr], fhir);
    const synced = await result;
    assert.equal(synced.outcome, 'created');
    assert.deepEqual(synced.observations, { created: 2, updated: 0, deleted: 0 });
    assert.ok(!fhir.searches.some((search) => search.startsWith('Observation')), fhir.searches.join('\n'));
    assert.equal(fhir.transactions.length, 1);
  });

  it('an existing study: one Observation search (part-of) only when it has or had an SR instance', async () => {
    const existing: ImagingStudy = {
      resourceType: 'ImagingStudy',
      id: 's1',
      meta: { versionId: '1', source: mapping.endpoint },
      status: 'available',
      subject: { reference: 'Patient/p1' },
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }],
    };
    const withSr = new ScriptedFhir({ ImagingStudy: [existing] });
    await run([ct, sr], withSr).result;
    assert.deepEqual(
      withSr.searches.filter((search) => search.startsWith('Observation')),
      ['Observation?part-of=ImagingStudy%2Fs1'],
    );
    const imagesOnly = new ScriptedFhir({ ImagingStudy: [existing] });
    await run([ct], imagesOnly).result;
    assert.ok(!imagesOnly.searches.some((search) => search.startsWith('Observation')));
  });

  it('validates with the R4 definitions by default: what it sends is valid', async () => {
    const fhir = new ScriptedFhir();
    const { failures, result } = run([ct, sr], fhir);
    await result;
    assert.deepEqual(failures, []);
    assert.equal(fhir.transactions[0]?.entry?.length, 4, 'Patient, ImagingStudy and two Observations');
  });

  it('an invalid Observation is recorded (invalid-resource, resource and path named) and left out', async () => {
    const fhir = new ScriptedFhir();
    const { failures, result } = run([ct, sr], fhir, (resource) =>
      resource.resourceType === 'Observation' && resource.code.coding?.[0]?.code === '113852'
        ? [{ path: 'Observation.bodySite', message: 'broken' }]
        : [],
    );
    await result;
    assert.deepEqual(
      failures.map((failure) => [failure.category, failure.reason]),
      [
        [
          'invalid-resource',
          'Observation event urn:oid:1.2.3.100.1 is not valid FHIR R4: Observation.bodySite: broken',
        ],
      ],
    );
    assert.equal(fhir.transactions[0]?.entry?.filter((e) => e.resource?.resourceType === 'Observation').length, 1);
  });

  it('an invalid ImagingStudy: a NonRetryableError naming it and the path, nothing sent (never a 400 loop)', async () => {
    const fhir = new ScriptedFhir();
    const { result } = run([ct], fhir, (resource) =>
      resource.resourceType === 'ImagingStudy' ? [{ path: 'ImagingStudy.started', message: 'bad' }] : [],
    );
    await assert.rejects(
      result,
      (error: unknown) =>
        error instanceof NonRetryableError &&
        error.category === 'invalid-resource' &&
        /ImagingStudy urn:oid:1\.2\.3 is not valid FHIR R4: ImagingStudy\.started: bad/.test(error.message),
    );
    assert.deepEqual(fhir.transactions, []);
  });
});
