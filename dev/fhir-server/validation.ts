import { OperationOutcomeError, validateResource, type TypedValueWithPath } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError } from './outcomes.js';
import { R4ValueSets } from './valueSets.js';

/**
 * Checks a resource the way a conformant R4 server does before storing it:
 * - structure, cardinality and primitive formats against the R4 StructureDefinitions (Medplum's validator);
 * - no empty strings, arrays, objects or nulls (FHIR JSON forbids them; the validator lets some through);
 * - `code` values bound to a required, enumerable R4 value set (ImagingStudy.status, Patient.gender,
 *   Endpoint.status, Observation.status, Identifier.use, ...), which the validator collects but does not check.
 * Throws a 400 FhirError whose issues name the offending paths. Independent of shared/validation (the writer's
 * own pre-check) on purpose: the server must not share the code it judges.
 */
export class ResourceValidator {
  private readonly valueSets = new R4ValueSets();

  validate(resource: Resource): void {
    const issues = findEmptyValues(resource, resource.resourceType);
    const tokens: Record<string, TypedValueWithPath[]> = {};
    try {
      issues.push(...validateResource(resource, { collect: { tokens } }).filter((i) => i.severity === 'error'));
    } catch (error) {
      if (!(error instanceof OperationOutcomeError)) {
        throw error;
      }
      issues.push(...(error.outcome.issue ?? []));
    }
    issues.push(...this.checkRequiredCodes(tokens));
    if (issues.length > 0) {
      throw new FhirError(400, { resourceType: 'OperationOutcome', issue: issues.map(withDiagnostics) });
    }
  }

  private checkRequiredCodes(tokens: Record<string, TypedValueWithPath[]>): OperationOutcomeIssue[] {
    const issues: OperationOutcomeIssue[] = [];
    for (const [valueSet, values] of Object.entries(tokens)) {
      for (const { type, value, path } of values) {
        if (type !== 'code' || typeof value !== 'string') {
          continue;
        }
        const allowed = this.valueSets.codes(valueSet);
        if (allowed && !allowed.has(value)) {
          issues.push({
            severity: 'error',
            code: 'code-invalid',
            diagnostics: `Value '${value}' at ${path} is not in the required value set ${valueSet} (${[...allowed].join(' | ')})`,
            expression: [path],
          });
        }
      }
    }
    return issues;
  }
}

function findEmptyValues(value: unknown, path: string, issues: OperationOutcomeIssue[] = []): OperationOutcomeIssue[] {
  const empty = (what: string): void => {
    issues.push({ severity: 'error', code: 'structure', diagnostics: `${what} at ${path}`, expression: [path] });
  };
  if (value === null) {
    empty('Null value');
  } else if (typeof value === 'string') {
    if (value.trim() === '') {
      empty('Empty string');
    }
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      empty('Empty array');
    }
    // null is allowed inside primitive arrays, where it pairs with an extension in the `_name` sibling.
    value.forEach((item, index) => item !== null && findEmptyValues(item, `${path}[${index}]`, issues));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) {
      empty('Empty object');
    }
    for (const [key, child] of entries) {
      findEmptyValues(child, `${path}.${key}`, issues);
    }
  }
  return issues;
}

function withDiagnostics(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  if (issue.diagnostics) {
    return issue;
  }
  const where = issue.expression?.join(', ');
  const text = issue.details?.text ?? 'Invalid resource';
  return { ...issue, diagnostics: where ? `${text} at ${where}` : text };
}
