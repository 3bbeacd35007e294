import type { Endpoint } from '@medplum/fhirtypes';
import { escapeSearchValue, tokenSearchValue } from './search.js';
import type { MappingOptions } from './types.js';

const connectionTypeSystem = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const connectionTypeCode = 'dicom-wado-rs';
const namePrefix = 'DICOM WADO-RS endpoint ';

/** The Endpoint DICOM Cast wrote for `DicomWeb:Endpoint`. */
export function toEndpoint(options: MappingOptions): Endpoint {
  return {
    resourceType: 'Endpoint',
    status: 'active',
    connectionType: { system: connectionTypeSystem, code: connectionTypeCode },
    name: namePrefix + options.endpoint,
    payloadType: [{ text: 'DICOM WADO-RS' }],
    payloadMimeType: ['application/dicom'],
    address: options.endpoint,
  };
}

/**
 * The names DICOM Cast may have stored: it wrote E with a trailing `/` when E was a bare host, so both
 * forms are searched (our own is first).
 */
export function endpointNames(options: MappingOptions): string[] {
  const withoutSlash = options.endpoint.replace(/\/+$/, '');
  const variants = [options.endpoint, withoutSlash, `${withoutSlash}/`].map((address) => namePrefix + address);
  return [...new Set(variants)];
}

/** One search per name variant: `Endpoint?name=..&connection-type=..|dicom-wado-rs`. */
export function endpointSearchParams(options: MappingOptions): Record<string, string>[] {
  return endpointNames(options).map((name) => ({
    name: escapeSearchValue(name),
    'connection-type': tokenSearchValue(connectionTypeSystem, connectionTypeCode),
  }));
}

/**
 * FHIR `name` search matches by prefix and case-insensitively (`…endpoint https://host` also finds
 * `…endpoint https://host.other`): keep only the search results that really are this Endpoint.
 */
export function isDicomWebEndpoint(endpoint: Endpoint, options: MappingOptions): boolean {
  return (
    endpoint.name !== undefined &&
    endpointNames(options).includes(endpoint.name) &&
    endpoint.connectionType?.code === connectionTypeCode
  );
}
