import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { splitTransaction, transactionOf } from '../fhir/bundleEntries.js';
import type { FhirClient } from '../fhir/fhirClient.js';
import { writtenVersion } from '../fhir/versions.js';
import type { StudyTransactionPlan } from '../mapping/transaction.js';
import { ConflictRetry } from './conflict.js';

type StudyResourceKind = 'Endpoint' | 'Patient' | 'ImagingStudy';
const kinds = { endpoint: 'Endpoint', patient: 'Patient', imagingStudy: 'ImagingStudy' } as const;

export interface SentTransaction {
  /** Entries that did not fit and wait for the next pass (they reference what this one created). */
  deferred: number;
  /** The study's resources this transaction created (conditional create answered 201). */
  created: Set<StudyResourceKind>;
  /** Ids of the study's resources, from the response locations. */
  ids: { endpoint?: string; patient?: string; imagingStudy?: string };
}

/** `<id>` of a location `[base/]Type/<id>[/_history/<n>]`, relative (Medplum, HAPI) or absolute (AHDS). */
export function idFromLocation(location: string | undefined, resourceType: string): string | undefined {
  const match = new RegExp(`(?:^|/)${resourceType}/([^/]+)(?:/_history/[^/]+)?/?$`).exec(location ?? '');
  return match?.[1];
}

/**
 * Sends a study's transaction within `maxEntries` per Bundle (see splitTransaction): the entries that stand on
 * their own first (dose Observations, idempotent by identifier or fenced by their own If-Match), the fence (the
 * ImagingStudy's write, with the Endpoint and Patient it references) last. A conditional create of a Patient,
 * ImagingStudy or Observation in the fenced Bundle answered 200 means another writer was first: a conflict.
 * An Endpoint found by its conditional create is the one we would have written (its content is its identity),
 * and the transaction resolved our reference to it.
 */
export async function sendStudyTransaction(
  plan: StudyTransactionPlan,
  study: string,
  maxEntries: number,
  fhir: FhirClient,
): Promise<SentTransaction> {
  const entries = plan.bundle?.entry ?? [];
  const fence = Object.values(plan.indexes).filter((index): index is number => index !== undefined);
  const parts = splitTransaction(entries, fence, maxEntries);
  const pick = (indexes: number[]) => transactionOf(indexes.map((index) => entries[index] as BundleEntry));
  for (const chunk of parts.chunks) await fhir.transaction(pick(chunk));
  const response: Bundle = await fhir.transaction(pick(parts.fenced));

  const statusOf = (index: number) => response.entry?.[parts.fenced.indexOf(index)]?.response;
  const creates = new Set(plan.createIndexes);
  const foundExisting = plan.createIndexes.some(
    (index) =>
      index !== plan.indexes.endpoint &&
      parts.fenced.includes(index) &&
      (statusOf(index)?.status?.startsWith('200') ?? false),
  );
  if (foundExisting) {
    const conflict = new ConflictRetry(study, 'a conditional create found an existing resource');
    const written = plan.indexes.imagingStudy === undefined ? undefined : statusOf(plan.indexes.imagingStudy);
    if (written?.status?.startsWith('20')) conflict.writtenImagingStudy = writtenVersion(written, 'ImagingStudy');
    throw conflict;
  }

  const sent: SentTransaction = { deferred: parts.deferred, created: new Set(), ids: {} };
  for (const [key, kind] of Object.entries(kinds) as [keyof typeof kinds, StudyResourceKind][]) {
    const index = plan.indexes[key];
    if (index === undefined) continue;
    const answer = statusOf(index);
    const id = idFromLocation(answer?.location, kind);
    if (id) sent.ids[key] = id;
    if (creates.has(index) && answer?.status?.startsWith('201')) sent.created.add(kind);
  }
  return sent;
}
