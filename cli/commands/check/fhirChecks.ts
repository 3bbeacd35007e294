/**
 * `dicom-cast check` on the FHIR server: its CapabilityStatement (R4, and what the sync needs of it), a search that
 * proves the token is accepted, and the paging one search shows.
 */
import type { AxiosInstance } from 'axios';
import type { AuthConfig } from '../../../shared/auth/index.js';
import { UnacceptableAnswer, type CheckCall } from './call.js';
import { describePaging, judgeCapabilityStatement } from './fhirServerNeeds.js';
import type { Report } from './report.js';

const fhirJson = { Accept: 'application/fhir+json' };

export async function checkFhirServer(
  check: CheckCall,
  { report, http, config, endpoint }: { report: Report; http: AxiosInstance; config: AuthConfig; endpoint: string },
): Promise<void> {
  let statement: unknown;
  const reachable = await check(() => http.get('metadata', { headers: fhirJson }), {
    path: 'metadata',
    accept: (body) => {
      statement = body;
      return checkCapabilityStatement(body);
    },
  });
  // What the sync needs of the server (transactions, conditional create, If-Match), from what it says it supports.
  if (reachable === 'passed') {
    for (const finding of judgeCapabilityStatement(statement)) report.line(finding.status, finding.text);
  }
  // /metadata is anonymous on most servers (Azure's too): this search is what proves the token is accepted.
  if (reachable === 'unreachable') return;
  const searched = await check(() => http.get('Patient', { params: { _summary: 'count' }, headers: fhirJson }), {
    path: 'Patient?_summary=count',
    accept: () => (config.kind === 'none' ? 'search answered' : 'token accepted'),
  });
  if (searched !== 'passed') return;
  let page: unknown;
  const paged = await check(() => http.get('Patient', { params: { _count: 1 }, headers: fhirJson }), {
    path: 'Patient?_count=1',
    accept: (body) => {
      page = body;
      return 'searchset answered';
    },
  });
  if (paged === 'passed') {
    const finding = describePaging(page, endpoint);
    report.line(finding.status, finding.text);
  }
}

function checkCapabilityStatement(body: unknown): string {
  const statement = body as { resourceType?: unknown; fhirVersion?: unknown; software?: { name?: unknown } } | null;
  if (statement?.resourceType !== 'CapabilityStatement') {
    throw new UnacceptableAnswer('not a CapabilityStatement: check that Fhir:Endpoint is the FHIR base URL');
  }
  const version = typeof statement.fhirVersion === 'string' ? statement.fhirVersion : 'none';
  if (!/^4\.0\.\d+$/.test(version)) {
    throw new UnacceptableAnswer(
      `FHIR version ${version}: DICOM Cast writes FHIR R4 (4.0.x); point Fhir:Endpoint at an R4 server`,
    );
  }
  const software = typeof statement.software?.name === 'string' ? ` (${statement.software.name})` : '';
  return `FHIR ${version}${software}`;
}
