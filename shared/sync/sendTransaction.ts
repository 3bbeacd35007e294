import type { Bundle } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir/fhirClient.js';
import { writtenVersion } from '../fhir/versions.js';
import { positionsOf } from '../mapping/transaction/bundles.js';
import type { PlannedTransaction, StudyRole } from '../mapping/transaction/plan.js';
import { ConflictRetry } from './conflict.js';

export interface SentTransaction {
  /** Entries that did not fit and wait for the next pass (they reference what this one created). */
  deferred: number;
  /** The study's resources this transaction created (conditional create answered 201). */
  created: Set<StudyRole>;
  /** Ids of the study's resources, from the response locations. */
  ids: Partial<Record<StudyRole, string>>;
}

/** `<id>` of a location `[base/]Type/<id>[/_history/<n>]`, relative (Medplum, HAPI) or absolute (AHDS). */
export function idFromLocation(location: string | undefined, resourceType: string): string | undefined {
  const match = new RegExp(`(?:^|/)${resourceType}/([^/]+)(?:/_history/[^/]+)?/?$`).exec(location ?? '');
  return match?.[1];
}

/**
 * Sends a study's transaction as planned (see assembleTransaction): the Bundles of entries that stand on their own
 * first, the fenced Bundle (the ImagingStudy's write, with the Endpoint and Patient it references) last. A
 * conditional create in the fenced Bundle answered 200 means another writer was first: a conflict, unless it is
 * the Endpoint (its content is its identity, and the transaction resolved our reference to it).
 */
export async function sendStudyTransaction(
  transaction: PlannedTransaction,
  study: string,
  fhir: FhirClient,
): Promise<SentTransaction> {
  for (const chunk of transaction.before) await fhir.transaction(chunk.bundle);
  const { entries } = transaction.fenced;
  const response: Bundle = await fhir.transaction(transaction.fenced.bundle);
  const answerAt = (index: number) => response.entry?.[index]?.response;
  const { creates, fence } = positionsOf(entries);
  const foundExisting = creates.some(
    (index) => entries[index]?.ifFound === 'conflict' && (answerAt(index)?.status?.startsWith('200') ?? false),
  );
  if (foundExisting) {
    const conflict = new ConflictRetry(study, 'a conditional create found an existing resource');
    const at = fence.imagingStudy;
    const written = at === undefined ? undefined : answerAt(at);
    // Our write: an update (200) or a create (201). A conditional create answered 200 wrote nothing: the version it
    // found is the other writer's, from DICOM data read after ours, which must not be reused (metadataReuse.ts).
    const ours = at !== undefined && creates.includes(at) ? '201' : '20';
    const version = written?.status?.startsWith(ours) ? writtenVersion(written, 'ImagingStudy') : undefined;
    if (version) conflict.writtenImagingStudy = version;
    throw conflict;
  }

  const sent: SentTransaction = { deferred: transaction.deferred, created: new Set(), ids: {} };
  for (const [role, index] of Object.entries(fence) as [StudyRole, number][]) {
    const answer = answerAt(index);
    const id = idFromLocation(answer?.location, entries[index]?.entry.resource?.resourceType ?? '');
    if (id) sent.ids[role] = id;
    if (creates.includes(index) && answer?.status?.startsWith('201')) sent.created.add(role);
  }
  return sent;
}
