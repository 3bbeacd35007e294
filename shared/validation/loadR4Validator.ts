import type { Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../errors/errors.js';

/**
 * The process's R4 validator (see r4Validator.ts), imported when first needed: Medplum's validator and the R4
 * definitions take a few hundred milliseconds to import and more to index, which a worker that only polls the
 * change feed (or has not yet received a study) should not pay at start.
 */
export async function loadR4Validator(): Promise<
  (resource: Resource, heldParts?: ReadonlySet<object>) => ResourceProblem[]
> {
  const { validateR4 } = await import('./r4Validator.js');
  return validateR4;
}
