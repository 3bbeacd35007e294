import { badRequest } from './outcomes.js';

/** A FHIR RESTful URL relative to the base: `Type`, `Type/id`, `Type/id/_history/vid`, `Type/_search`, with a query. */
export interface FhirPath {
  segments: string[];
  query: URLSearchParams;
  /** The raw query string without `?`, as given. */
  rawQuery: string;
}

/** Parses a request or Bundle.entry.request.url; absolute URLs must be under `baseUrl`. */
export function parseFhirPath(url: string, baseUrl: string): FhirPath {
  let relative = url;
  if (/^https?:\/\//.test(url)) {
    if (!url.startsWith(baseUrl)) {
      throw badRequest(`URL ${url} is not on this server (${baseUrl})`);
    }
    relative = url.slice(baseUrl.length);
  }
  const questionMark = relative.indexOf('?');
  const path = questionMark < 0 ? relative : relative.slice(0, questionMark);
  const rawQuery = questionMark < 0 ? '' : relative.slice(questionMark + 1);
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  return { segments, query: new URLSearchParams(rawQuery), rawQuery };
}

/** The version in an `If-Match`/`ifMatch` value: `W/"3"`, `"3"` or `3` → `3`. */
export function parseETag(value: string): string {
  return value
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/** The version in an If-Match value under a profile's syntax: `weak-only` accepts `W/"3"` alone (400 otherwise). */
export function parseIfMatch(value: string, syntax: 'lenient' | 'weak-only', where = 'If-Match'): string {
  if (syntax === 'weak-only' && !/^W\/"[^"]+"$/.test(value.trim())) {
    throw badRequest(`${where} ${JSON.stringify(value)} is not a weak ETag of the form W/"<version>"`);
  }
  return parseETag(value);
}
