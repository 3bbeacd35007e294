import { assembleTransaction } from './bundles.js';
import { planDoseObservations } from './doseObservationEntries.js';
import { planEndpoint } from './endpointEntry.js';
import { imagingStudyChanged, mapStudy, planImagingStudy } from './imagingStudyEntry.js';
import { planPatient } from './patientEntry.js';
import {
  emptyReport,
  resourceCheck,
  type EntryPlanner,
  type PlanContext,
  type PlannedEntry,
  type StudyPlan,
  type StudyTransactionInput,
} from './plan.js';
import { buildStudyRemoval } from './removal.js';
import { screenStudy } from './screen.js';
import type { MappingOptions } from '../types.js';

/**
 * The assembler: the transaction that brings FHIR in line with the DICOM server for one study, from what the caller
 * read from FHIR (`input.state`; an empty state gives the Bundle for an empty server). Reads nothing.
 *
 * Each resource kind has its planner (`EntryPlanner`, one file in this folder): it returns its entries, each with its
 * role (`PlannedEntry`), or `invalid`. The assembler orders them, builds the Bundle(s) and derives every position
 * from the roles (bundles.ts). The ImagingStudy is not in the list: it is the fence, written whenever anything is.
 *
 * Adding a resource kind (a Device, another SR-derived Observation): write `<kind>Entries.ts` exporting an
 * `EntryPlanner` (read `context`, report into `context.report`, validate with `context.check`; role `standalone`
 * for an entry that holds on its own), then add it to `planners` below. Nothing else counts or reads positions.
 * (Only a resource the ImagingStudy itself references, which travels in the fence, also needs its name in
 * `StudyRole`, plan.ts, for the writer to read its id back.)
 */
const planners: readonly EntryPlanner[] = [planEndpoint, planPatient, planDoseObservations];

export function buildStudyTransaction(input: StudyTransactionInput, options: MappingOptions): StudyPlan {
  const report = emptyReport();
  const screened = input.screened ?? screenStudy({ ...input, datasets: input.datasets ?? [] }, options);
  report.failures.push(...screened.failures);
  if (screened.instances.length === 0) {
    report.rejectedInstances = screened.failures.length;
    // Every instance unusable: leave FHIR as it is rather than deleting a study that does exist.
    if (screened.returned > 0) return { ...report, action: 'keep' };
    return { ...report, action: 'remove', removal: removalOf(input, options) };
  }
  const mapped = mapStudy(input, screened, options, report);
  if (mapped === 'keep') return { ...report, action: 'keep' };

  const context: PlanContext = { input, options, screened, ...mapped, report, check: resourceCheck(input, report) };
  const entries: PlannedEntry[] = [];
  for (const plan of planners) {
    const planned = plan(context);
    if (planned === 'invalid') return { ...report, action: 'invalid' };
    entries.push(...planned);
  }
  if (entries.length === 0 && !imagingStudyChanged(context)) return { ...report, action: 'unchanged' };
  const fence = planImagingStudy(context);
  if (!fence) return { ...report, action: 'invalid' };
  return { ...report, action: 'write', transaction: assembleTransaction([...entries, fence], input.maxBundleEntries) };
}

function removalOf(input: StudyTransactionInput, options: MappingOptions) {
  return buildStudyRemoval(input.state, options, input.partition, input.maxBundleEntries);
}
