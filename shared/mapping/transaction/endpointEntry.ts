import { conditionalCreate } from '../../fhir/bundleEntries.js';
import { endpointCreateCondition, toEndpoint } from '../endpoint.js';
import type { MappingOptions } from '../types.js';
import { localFullUrl, type EntryPlanner, type PlannedEntry } from './plan.js';

/** The Endpoint of this DICOM server: created when FHIR has none (conditionally: its content is its identity). */
export const planEndpoint: EntryPlanner = (context) => {
  if (context.input.state.endpoint) return [];
  const endpoint = toEndpoint(context.options);
  if (!context.check(endpoint, `Endpoint ${context.options.endpoint}`)) return 'invalid';
  return [endpointCreate(context.options, context.references.endpoint)];
};

/** The conditional create of this DICOM server's Endpoint (the writer also sends it alone, see syncStudy). */
export function endpointCreate(
  options: MappingOptions,
  fullUrl = localFullUrl('Endpoint', options.endpoint),
): PlannedEntry {
  return {
    entry: conditionalCreate(toEndpoint(options), fullUrl, endpointCreateCondition(options)),
    role: 'endpoint',
    ifFound: 'same',
  };
}
