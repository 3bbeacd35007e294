import type { Resource } from '@medplum/fhirtypes';
import type { StudyMessage } from '../queue/studyMessage.js';
import { ConflictRetry } from './conflict.js';
import { mergeCopies, type IdentityCopies } from './duplicates.js';
import type { StudySyncDeps } from './studySyncTypes.js';

export interface SettleContext {
  message: StudyMessage;
  deps: StudySyncDeps;
  /** `Fhir:MaxBundleEntries`, for the merge's own transactions. */
  maxEntries: number;
  duplicates: DuplicateReport;
}

/** What one sync found out about duplicates, across its passes. */
export class DuplicateReport {
  removed = 0;
  readonly othersKept = new Set<string>();

  summary(): { removed: number; othersKept: string[] } | undefined {
    return this.removed > 0 || this.othersKept.size > 0
      ? { removed: this.removed, othersKept: [...this.othersKept].sort() }
      : undefined;
  }
}

/**
 * Keeps the kept copy of an identity, merging our extra copies into it (then the pass restarts) and reporting
 * others' (left alone). Returns whether the pass must restart.
 */
export async function settleCopies(
  kind: 'Patient' | 'Endpoint' | 'ImagingStudy',
  copies: IdentityCopies<Resource>,
  context: SettleContext,
): Promise<boolean> {
  const { message, deps, duplicates } = context;
  for (const other of copies.others) {
    const reference = `${kind}/${other.id ?? ''}`;
    if (duplicates.othersKept.has(reference)) continue;
    duplicates.othersKept.add(reference);
    deps.log?.(
      'warn',
      `Study ${message.study}: ${reference} duplicates ${kind}/${copies.kept?.id ?? ''} but was not written by this DICOM server; left alone, ${kind}/${copies.kept?.id ?? ''} is used`,
    );
  }
  if (copies.ours.length === 0) return false;
  try {
    duplicates.removed += await mergeCopies(context.deps.fhir, kind, copies, context.maxEntries);
  } catch (error) {
    // Another writer merging the same copies, or changing a referrer: read again.
    throw new ConflictRetry(message.study, `merging duplicate ${kind} copies`, error);
  }
  deps.log?.('warn', `Study ${message.study}: merged ${copies.ours.length} duplicate ${kind} copies of ours`);
  return true;
}
