import type { Bundle } from '@medplum/fhirtypes';
import { positionsOf, type EntryPositions } from '../../shared/mapping/transaction/bundles.js';
import type { StudyPlan, StudyRemovalPlan } from '../../shared/mapping/transaction/plan.js';

/** The whole transaction a plan sends, as one Bundle; undefined when it sends nothing. */
export function bundleOf(plan: StudyPlan | StudyRemovalPlan): Bundle | undefined {
  return 'transaction' in plan ? plan.transaction.bundle : undefined;
}

/** Where the entries of a plan's fenced Bundle stand: the whole transaction when it is not split. */
export function fencedPositions(plan: StudyPlan): EntryPositions {
  return positionsOf(plan.action === 'write' ? plan.transaction.fenced.entries : []);
}
