export interface FhirReply<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** One FHIR JSON request over real HTTP; `path` is relative to `baseUrl` unless it is an absolute URL (a next link). */
export async function fhirRequest<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<FhirReply<T>> {
  const url = /^https?:/.test(path) ? path : `${baseUrl}${path}`;
  const response = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/fhir+json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}
