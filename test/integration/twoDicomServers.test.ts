import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, ImagingStudy } from '@medplum/fhirtypes';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import { startDicomServer, type RunningDicomServer } from '../../dev/dicom-server/index.js';
import { startFhirServer, type RunningFhirServer } from '../../dev/fhir-server/index.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { storeSampleStudies } from '../../dev/seedSamples.js';

/** Two DICOM servers whose URLs share a prefix (…:4242 and …:42421), as a FHIR `name` search would confuse them. */
async function prefixRelatedServers(): Promise<[RunningDicomServer, RunningDicomServer]> {
  for (let port = 2000 + Math.floor(Math.random() * 4000); port < 6553; port++) {
    const first = await startDicomServer({ port }).catch(() => undefined);
    if (!first) continue;
    const second = await startDicomServer({ port: port * 10 + 1 }).catch(() => undefined);
    if (second) return [first, second];
    await first.close();
  }
  throw new Error('no pair of free prefix-related ports');
}

describe('two DICOM servers syncing into one FHIR server', () => {
  let azurite: RunningAzurite;
  let fhir: RunningFhirServer;
  let servers: [RunningDicomServer, RunningDicomServer];

  before(async () => {
    azurite = await startAzurite();
    fhir = await startFhirServer();
    servers = await prefixRelatedServers();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await fhir.close();
    await azurite.close();
  });

  it('keep an Endpoint each, even when one URL is a prefix of the other', async () => {
    // The longer URL first: the shorter one's `name` search would then find the longer one's Endpoint.
    for (const [index, dicom] of [...servers].reverse().entries()) {
      assert.ok(dicom.url.startsWith(servers[0].url));
      await storeSampleStudies(dicom.url, { studies: 1, seriesPerStudy: 1, instancesPerSeries: 2, seed: 40 + index });
      const host = new LocalFunctionsHost({
        settings: {
          AzureWebJobsStorage: azurite.connectionString,
          DicomWeb__Endpoint: dicom.url,
          Fhir__Endpoint: fhir.url,
          DicomCast__Schedule: '0 0 0 1 1 *',
          DicomCast__CheckpointTable: `Checkpoints${index}`,
        },
      });
      await host.runOnce();
    }

    const endpoints = await fhir.all<Endpoint>('Endpoint');
    assert.deepEqual(endpoints.map((endpoint) => endpoint.address).sort(), servers.map((server) => server.url).sort());
    for (const study of await fhir.all<ImagingStudy>('ImagingStudy')) {
      const endpoint = endpoints.find((candidate) => study.endpoint?.[0]?.reference === `Endpoint/${candidate.id}`);
      assert.equal(endpoint?.address, study.meta?.source, 'each study points at its own server');
    }
  });
});
