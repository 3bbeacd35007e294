/**
 * What the sync needs from a FHIR server, judged from its CapabilityStatement and one search (pure: no I/O).
 * The writer sends each study as one `transaction` Bundle with conditional creates (If-None-Exist) and If-Match
 * updates and deletes, and follows search `next` links as the server gives them.
 */

export type FindingStatus = 'ok' | 'FAIL' | 'warn' | 'info';

export interface Finding {
  status: FindingStatus;
  text: string;
}

interface ResourceCapability {
  type?: unknown;
  versioning?: unknown;
  conditionalCreate?: unknown;
  conditionalUpdate?: unknown;
}

interface Statement {
  software?: { name?: unknown; version?: unknown };
  rest?: Array<{ mode?: unknown; interaction?: Array<{ code?: unknown }>; resource?: ResourceCapability[] }>;
}

/** The resource types every sync writes. */
const WRITTEN_TYPES = ['Patient', 'Endpoint', 'ImagingStudy'] as const;

const NO_TRANSACTION =
  'transactions: the CapabilityStatement lists no transaction interaction, which DICOM Cast writes every study with ' +
  '(Azure API for FHIR on Cosmos DB lists batch only). Use a server with transactions: the Azure Health Data Services ' +
  'FHIR service (which replaces Azure API for FHIR, retired on 2026-09-30), or HAPI FHIR';

/** One finding per need: transactions, and per written type conditional create, versioned update, conditional update. */
export function judgeCapabilityStatement(body: unknown): Finding[] {
  const statement = (body ?? {}) as Statement;
  const server = (statement.rest ?? []).filter((rest) => rest.mode === 'server');
  const findings: Finding[] = [];
  const transaction = server.some((rest) => (rest.interaction ?? []).some((i) => i.code === 'transaction'));
  findings.push(
    transaction ? { status: 'ok', text: 'transactions: supported' } : { status: 'FAIL', text: NO_TRANSACTION },
  );

  const resources = server.flatMap((rest) => rest.resource ?? []);
  const byType = new Map(resources.map((resource) => [resource.type, resource]));
  const missing = WRITTEN_TYPES.filter((type) => !byType.has(type));
  if (resources.length > 0 && missing.length > 0) {
    findings.push({ status: 'FAIL', text: `resource types: the server does not list ${missing.join(', ')}` });
  }
  const listed = WRITTEN_TYPES.filter((type) => byType.has(type)).map((type) => byType.get(type) as ResourceCapability);
  if (listed.length === 0) {
    findings.push({
      status: 'warn',
      text: 'conditional create, versioned update: not stated (the CapabilityStatement lists no resources)',
    });
    return findings;
  }
  findings.push(
    judgeEach(listed, 'conditional create (If-None-Exist)', (r) =>
      r.conditionalCreate === true ? 'ok' : r.conditionalCreate === false ? 'FAIL' : 'warn',
    ),
  );
  findings.push(
    judgeEach(listed, 'versioned update (If-Match)', (r) =>
      r.versioning === 'versioned-update' || r.versioning === 'versioned'
        ? 'ok'
        : r.versioning === 'no-version'
          ? 'FAIL'
          : 'warn',
    ),
  );
  const conditionalUpdate = listed.filter((r) => r.conditionalUpdate === true).map((r) => String(r.type));
  findings.push({
    status: 'info',
    text:
      `conditional update: ${conditionalUpdate.length ? `supported for ${conditionalUpdate.join(', ')}` : 'not stated'} ` +
      '(not needed: DICOM Cast updates by id with If-Match)',
  });
  return findings;
}

function judgeEach(
  resources: ResourceCapability[],
  need: string,
  judge: (resource: ResourceCapability) => 'ok' | 'FAIL' | 'warn',
): Finding {
  const verdicts = resources.map((resource) => ({ type: String(resource.type), verdict: judge(resource) }));
  const failed = verdicts.filter((v) => v.verdict === 'FAIL').map((v) => v.type);
  const unstated = verdicts.filter((v) => v.verdict === 'warn').map((v) => v.type);
  if (failed.length > 0) {
    return { status: 'FAIL', text: `${need}: not supported for ${failed.join(', ')}; DICOM Cast needs it` };
  }
  if (unstated.length > 0) {
    return { status: 'warn', text: `${need}: not stated for ${unstated.join(', ')}` };
  }
  return { status: 'ok', text: `${need}: supported for ${verdicts.map((v) => v.type).join(', ')}` };
}

/**
 * The paging a `Patient?_count=1` search showed. Any style works (the sync follows `next` links as given), except a
 * link to another origin than the endpoint, which would take the token elsewhere.
 */
export function describePaging(body: unknown, endpoint: string): Finding {
  const bundle = (body ?? {}) as {
    resourceType?: unknown;
    total?: unknown;
    link?: Array<{ relation?: unknown; url?: unknown }>;
  };
  if (bundle.resourceType !== 'Bundle') {
    return { status: 'FAIL', text: 'paging: the search did not answer with a Bundle' };
  }
  const next = bundle.link?.find((link) => link.relation === 'next')?.url;
  if (typeof next !== 'string') {
    const total = typeof bundle.total === 'number' ? ` (${bundle.total} Patient${bundle.total === 1 ? '' : 's'})` : '';
    return { status: 'info', text: `paging: not seen, no next link for one Patient per page${total}` };
  }
  let url: URL;
  try {
    url = new URL(next, `${endpoint.replace(/\/+$/, '')}/`);
  } catch {
    return { status: 'FAIL', text: 'paging: the next link is not a URL' };
  }
  if (url.origin !== new URL(endpoint).origin) {
    return {
      status: 'FAIL',
      text:
        `paging: the next link points to ${url.origin}, not to Fhir:Endpoint's origin ${new URL(endpoint).origin}; ` +
        'set Fhir:Endpoint to the base URL the server names itself with',
    };
  }
  const style = url.searchParams.has('ct')
    ? 'an opaque continuation token (ct), as the AHDS FHIR service pages'
    : url.searchParams.has('_getpages')
      ? 'a search stored on the server (_getpages), as HAPI FHIR pages'
      : url.searchParams.has('_offset')
        ? 'offsets (_offset)'
        : 'an opaque next link';
  return { status: 'ok', text: `paging: next links with ${style}; DICOM Cast follows them as given` };
}
