import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../errors/errors.js';

/**
 * Validation results by resource content: the same resource validated again (the next pass of a sync after a
 * restart or a conflict, a re-sync of a study whose mapping did not change) costs a hash, not a validation.
 * Bounded: the oldest result is dropped past `capacity`.
 */
export class ValidationCache {
  private readonly results = new Map<string, readonly ResourceProblem[]>();

  constructor(private readonly capacity = 1000) {}

  check(resource: Resource, validate: (resource: Resource) => ResourceProblem[]): ResourceProblem[] {
    const key = createHash('sha256').update(JSON.stringify(resource)).digest('base64');
    let problems = this.results.get(key);
    if (!problems) {
      problems = validate(resource);
      this.results.set(key, problems);
      if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value as string);
    }
    // A copy: a caller may add to what it gets.
    return problems.map((problem) => ({ ...problem }));
  }

  get size(): number {
    return this.results.size;
  }
}
