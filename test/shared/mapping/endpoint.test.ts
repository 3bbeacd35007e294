import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  endpointCreateCondition,
  endpointNames,
  endpointSearchParams,
  isDicomWebEndpoint,
  toEndpoint,
} from '../../../shared/mapping/endpoint.js';
import { options } from '../../support/mappingFixtures.js';

const connectionType = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type|dicom-wado-rs';

describe('toEndpoint', () => {
  it('is the Endpoint DICOM Cast wrote, with its address as an identifier', () => {
    assert.deepEqual(toEndpoint(options), {
      resourceType: 'Endpoint',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'https://dicom.example.com' }],
      status: 'active',
      connectionType: {
        system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
        code: 'dicom-wado-rs',
      },
      name: 'DICOM WADO-RS endpoint https://dicom.example.com',
      payloadType: [{ text: 'DICOM WADO-RS' }],
      payloadMimeType: ['application/dicom'],
      address: 'https://dicom.example.com',
    });
  });
});

describe('endpointSearchParams', () => {
  const rows: [string, string[]][] = [
    ['https://dicom.example.com', ['https://dicom.example.com', 'https://dicom.example.com/']],
    ['https://dicom.example.com/', ['https://dicom.example.com/', 'https://dicom.example.com']],
    ['https://host/dicom/v2', ['https://host/dicom/v2', 'https://host/dicom/v2/']],
  ];
  for (const [endpoint, addresses] of rows) {
    it(`searches ${endpoint} with and without the trailing /`, () => {
      assert.deepEqual(
        endpointSearchParams({ ...options, endpoint }),
        addresses.map((address) => ({ name: `DICOM WADO-RS endpoint ${address}`, 'connection-type': connectionType })),
      );
    });
  }

  it('escapes search characters in the name', () => {
    assert.equal(
      endpointSearchParams({ ...options, endpoint: 'https://h/a,b' })[0]?.name,
      'DICOM WADO-RS endpoint https://h/a\\,b',
    );
  });
});

describe('isDicomWebEndpoint', () => {
  const endpoint = toEndpoint(options);
  const rows: [string, Parameters<typeof isDicomWebEndpoint>[0], boolean][] = [
    ['ours', endpoint, true],
    ['ours as DICOM Cast stored it', { ...endpoint, name: `${endpoint.name}/` }, true],
    ['a longer name the prefix search also finds', { ...endpoint, name: `${endpoint.name}.other` }, false],
    ['another connection type', { ...endpoint, connectionType: { code: 'hl7-fhir-rest' } }, false],
  ];
  for (const [name, candidate, expected] of rows) {
    it(name, () => assert.equal(isDicomWebEndpoint(candidate, options), expected));
  }

  it('names are unique', () => {
    assert.equal(endpointNames(options).length, 2);
  });
});

describe('endpointCreateCondition', () => {
  it('matches the address identifier exactly, not a name prefix another server shares', () => {
    assert.deepEqual(endpointCreateCondition(options), { identifier: 'urn:ietf:rfc:3986|https://dicom.example.com' });
  });
});
