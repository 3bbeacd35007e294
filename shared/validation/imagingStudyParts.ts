import type { ImagingStudy, ImagingStudySeries, Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../errors/errors.js';

/**
 * An ImagingStudy validated as its parts: the study without its series, then each series on its own inside a
 * minimal valid ImagingStudy, with the paths of a series' problems moved back to its index. With `check` caching by
 * content (ValidationCache), a change to one series of a 20,000-instance study validates that series and the
 * study's own fields, not every instance again: the cost follows what changed, not the study's size.
 * R4 has no rule across series, so the problems are the ones the whole resource would have (order aside).
 */
export function validateInParts(
  resource: Resource,
  check: (resource: Resource) => ResourceProblem[],
  /** Series FHIR holds as they are (see ResourceValidator): skipped, not even hashed for the cache. */
  heldParts?: ReadonlySet<object>,
): ResourceProblem[] {
  if (resource.resourceType !== 'ImagingStudy' || !resource.series || resource.series.length === 0) {
    return check(resource);
  }
  const { series, ...study } = resource;
  const problems = check(study);
  series.forEach((one, index) => {
    if (heldParts?.has(one)) return;
    for (const problem of check(seriesHolder(one))) problems.push({ ...problem, path: moved(problem.path, index) });
  });
  return problems;
}

/** Valid on its own, so every problem found in it is the series'. */
function seriesHolder(series: ImagingStudySeries): ImagingStudy {
  return {
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: 'Patient/series' },
    series: [series],
  };
}

const inHolder = 'ImagingStudy.series[0]';

function moved(path: string, index: number): string {
  return path
    .split(', ')
    .map((one) => (one.startsWith(inHolder) ? `ImagingStudy.series[${index}]${one.slice(inHolder.length)}` : one))
    .join(', ');
}
