import { splitTransaction, transactionOf } from '../../fhir/bundleEntries.js';
import type { PlannedBundle, PlannedEntry, PlannedTransaction, StudyRole } from './plan.js';

/** Where entries stand in a Bundle, derived from their roles: nobody tracks a position by hand. */
export interface EntryPositions {
  /** Conditional creates. */
  creates: number[];
  /** The fence: the study's own resources, by role. */
  fence: Partial<Record<StudyRole, number>>;
}

export function positionsOf(entries: readonly PlannedEntry[]): EntryPositions {
  const positions: EntryPositions = { creates: [], fence: {} };
  entries.forEach((planned, index) => {
    if (planned.ifFound) positions.creates.push(index);
    if (planned.role !== 'standalone') positions.fence[planned.role] = index;
  });
  return positions;
}

/** What the ImagingStudy references first, then the ImagingStudy, then what stands on its own (references it). */
const order: Record<PlannedEntry['role'], number> = { endpoint: 0, patient: 0, imagingStudy: 1, standalone: 2 };

/**
 * The transaction of the planned entries: in their order (see `order`; the planners' order within a role) and split
 * into Bundles of at most `maxEntries` (splitTransaction: the fence last, with what references what it creates).
 */
export function assembleTransaction(planned: readonly PlannedEntry[], maxEntries = Infinity): PlannedTransaction {
  const entries = [...planned].sort((a, b) => order[a.role] - order[b.role]);
  const fence = Object.values(positionsOf(entries).fence);
  const parts = splitTransaction(
    entries.map((planned) => planned.entry),
    fence,
    maxEntries,
  );
  const bundleOf = (indexes: number[]): PlannedBundle => {
    const picked = indexes.map((index) => entries[index] as PlannedEntry);
    return { bundle: transactionOf(picked.map((planned) => planned.entry)), entries: picked };
  };
  return {
    bundle: transactionOf(entries.map((planned) => planned.entry)),
    before: parts.chunks.map(bundleOf),
    fenced: bundleOf(parts.fenced),
    deferred: parts.deferred,
  };
}
