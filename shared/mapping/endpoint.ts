import type { Endpoint } from '@medplum/fhirtypes';
import { escapeSearchValue, tokenSearchValue } from './search.js';
import type { MappingOptions } from './types.js';

const connectionTypeSystem = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const connectionTypeCode = 'dicom-wado-rs';
const namePrefix = 'DICOM WADO-RS endpoint ';
/** The Endpoint's address as an identifier (RFC 3986 URI), so a conditional create can match it exactly. */
const addressIdentifierSystem = 'urn:ietf:rfc:3986';

/**
 * The Endpoint DICOM Cast wrote for `DicomWeb:Endpoint`, plus the address as an identifier: a `name` search matches
 * by prefix (`…https://dicom` finds `…https://dicom2`), so only an identifier makes the conditional create exact.
 */
export function toEndpoint(options: MappingOptions): Endpoint {
  return {
    resourceType: 'Endpoint',
    identifier: [{ system: addressIdentifierSystem, value: options.endpoint }],
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

/** The If-None-Exist condition of the Endpoint's conditional create: its address identifier, an exact token match. */
export function endpointCreateCondition(options: MappingOptions): Record<string, string> {
  return { identifier: tokenSearchValue(addressIdentifierSystem, options.endpoint) };
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
