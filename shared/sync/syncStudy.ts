import type { Observation } from '@medplum/fhirtypes';
import { RetryableError } from '../errors/errors.js';
import type { FhirClient } from '../fhir/fhirClient.js';
import { transactionOf } from '../fhir/bundleEntries.js';
import { omitUndefined } from '../lib/omitUndefined.js';
import type { MappingOptions } from '../mapping/index.js';
import { needsObservationSearch, observationSearchParams } from '../mapping/transaction/doseObservationEntries.js';
import { endpointCreate } from '../mapping/transaction/endpointEntry.js';
import type { FhirStudyState, PlannedTransaction, StudyTransactionInput } from '../mapping/transaction/plan.js';
import { studyPatientIdentity } from '../mapping/transaction/screen.js';
import { buildStudyTransaction } from '../mapping/transaction/studyTransaction.js';
import { mapped } from '../mapping/unexpectedError.js';
import type { PatientIdentifier } from '../mapping/patient.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { feedPosition } from '../mapping/demographicsSource.js';
import { loadR4Validator } from '../validation/loadR4Validator.js';
import { readCreatedCopies, readPatientCopies, readStudyAndEndpointCopies } from './identityReads.js';
import { ConflictRetry } from './conflict.js';
import { MetadataReuse } from './metadataReuse.js';
import { removeStudy } from './removeStudy.js';
import { defaultSeriesReadsFrom, seriesReadIsExact, seriesToRead } from './seriesReads.js';
import { readStudyIntake, type StudyIntake } from './studyIntake.js';
import { sendStudyTransaction } from './sendTransaction.js';
import { DuplicateReport, settleCopies, type SettleContext } from './settleCopies.js';
import {
  instanceSequences,
  invalidResourceError,
  recordListedButMissing,
  recordMalformed,
  recordPlan,
} from './syncRecords.js';

import type { StudySyncDeps, StudySyncOptions, StudySyncResult, SyncPass } from './studySyncTypes.js';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const defaultMaxBundleEntries = 500;

/**
 * Brings FHIR in line with what the DICOM server holds now for one study.
 * Reads FHIR before DICOM and writes with If-Match / If-None-Exist, so a write based on stale DICOM data
 * can only succeed if nobody wrote since it read FHIR, which makes the final state independent of the
 * order in which messages arrive. Every transaction touches the ImagingStudy, which makes it the fence.
 * Duplicate copies of an identity are merged into one before anything is written (see duplicates.ts).
 */
export async function syncStudy(
  message: StudyMessage,
  deps: StudySyncDeps,
  options: StudySyncOptions,
): Promise<StudySyncResult> {
  const maxAttempts = options.maxAttempts ?? 10;
  const sleep = deps.sleep ?? defaultSleep;
  const duplicates = new DuplicateReport();
  const metadata = new MetadataReuse<StudyIntake>();
  let lastConflict: unknown;
  let restarts = 0;
  for (let attempt = 1; attempt <= maxAttempts;) {
    try {
      const pass = await syncOnce(message, deps, options, duplicates, metadata);
      if ('restart' in pass) {
        // Progress, not a conflict: go again at once, within a bound.
        if (++restarts > maxAttempts * 2) attempt = maxAttempts + 1;
        deps.log?.('info', `Study ${message.study}: ${pass.restart}; syncing again`);
        continue;
      }
      const summary = duplicates.summary();
      return { ...pass, attempts: attempt, ...(summary ? { duplicates: summary } : {}) };
    } catch (error) {
      if (!(error instanceof RetryableError) || error.category !== 'fhir-conflict') throw error;
      if (error instanceof ConflictRetry && error.writtenImagingStudy) metadata.wrote(error.writtenImagingStudy);
      lastConflict = error;
      deps.log?.('info', `Conflict on study ${message.study}, retrying`, { attempt });
      await sleep(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
      attempt++;
    }
  }
  throw new RetryableError(
    `Gave up after ${maxAttempts} attempts: other writers kept changing study ${message.study}`,
    'fhir-conflict',
    { study: message.study },
    { cause: lastConflict },
  );
}

/**
 * The Endpoint goes first, in a transaction of its own: on AHDS a conditional create matched late leaves the
 * references to it pointing at an id that is never created, so nothing references an Endpoint not yet read back.
 * The restarted pass reads it (and merges the copy a concurrent writer may have created).
 */
async function createEndpoint(fhir: FhirClient, mapping: MappingOptions): Promise<void> {
  await fhir.transaction(transactionOf([endpointCreate(mapping).entry]));
}

async function syncOnce(
  message: StudyMessage,
  deps: StudySyncDeps,
  options: StudySyncOptions,
  duplicates: DuplicateReport,
  metadata: MetadataReuse<StudyIntake>,
): Promise<SyncPass> {
  const { fhir } = deps;
  const mapping = options.mapping;
  const study = message.study;
  const maxEntries = options.maxBundleEntries ?? defaultMaxBundleEntries;
  const context: SettleContext = { message, deps, maxEntries, duplicates };

  // 1. FHIR first (see the comment on syncStudy).
  const state: FhirStudyState = {};
  const read = await readStudyAndEndpointCopies(fhir, study, message.partition, mapping);
  const studyCopies = read.study;
  if (await settleCopies('ImagingStudy', studyCopies, context)) return { restart: 'merged ImagingStudy copies' };
  if (studyCopies.kept) state.imagingStudy = studyCopies.kept;
  const plainCreate: NonNullable<FhirStudyState['plainCreate']> = { imagingStudy: studyCopies.searchIsLoose };
  const endpointCopies = read.endpoint;
  if (await settleCopies('Endpoint', endpointCopies, context)) return { restart: 'merged Endpoint copies' };
  if (!endpointCopies.kept) {
    await createEndpoint(fhir, mapping);
    return { restart: 'created the Endpoint' };
  }
  state.endpoint = endpointCopies.kept;

  // 2. What the DICOM server holds now (or, on a later pass fenced by the same ImagingStudy version, read then),
  // each instance screened and read into its record as it arrives.
  const sequences = instanceSequences(message);
  const where = { study, ...omitUndefined({ partition: message.partition }), sequences };
  const series = seriesToRead(message, state.imagingStudy, mapping, options.seriesReadsFrom ?? defaultSeriesReadsFrom);
  const intake = await metadata.read(state.imagingStudy, async () => {
    // Only the series the change names, when that provably writes what the whole study would (seriesReads.ts).
    if (series && state.imagingStudy) {
      const part = await readStudyIntake(deps.dicom, { ...where, series }, mapping);
      if (!part.series || seriesReadIsExact(part, message, state.imagingStudy, mapping)) return part;
    }
    return await readStudyIntake(deps.dicom, where, mapping);
  });
  const { screened, malformed } = intake;
  const missing = await recordListedButMissing(message, intake.present, deps);
  await recordMalformed(malformed, message, deps);
  if (screened.returned === 0 && malformed.length > 0) {
    // Nothing readable is not the same as nothing left: keep FHIR as it is.
    return { study, outcome: 'unchanged', instances: 0, series: 0, warnings: [], rejectedInstances: malformed.length };
  }

  // 3. The rest of what the transaction depends on: the Patient the data names, and the dose Observations
  // already written for the study. Both are read after DICOM, which is safe: every write carries the
  // ImagingStudy's If-Match, so anything written since step 1 turns our write into a retry.
  const identity = studyPatientIdentity(screened, mapping);
  if (identity) {
    const patientCopies = await readPatientCopies(fhir, identity, mapping);
    if (await settleCopies('Patient', patientCopies, context)) return { restart: 'merged Patient copies' };
    if (patientCopies.kept) state.patient = patientCopies.kept;
    plainCreate.patient = patientCopies.searchIsLoose;
  }
  if (plainCreate.patient || plainCreate.imagingStudy) state.plainCreate = plainCreate;
  if (state.imagingStudy && needsObservationSearch(state.imagingStudy, screened.hasDoseReport, mapping)) {
    state.observations = await fhir.search<Observation>('Observation', observationSearchParams(state.imagingStudy));
  }

  const input: StudyTransactionInput = {
    study,
    sequences,
    screened,
    state,
    ...(message.partition !== undefined ? { partition: message.partition } : {}),
    applyDemographics: !state.patient || message.changes.some((change) => change.action === 'update'),
    feedPosition: feedPosition(message),
    changedInstances: message.changes.map((change) => change.sop),
    ...omitUndefined({ readSeries: intake.series }),
    ...(deps.validate !== false ? { validate: deps.validate ?? (await loadR4Validator()) } : {}),
    maxBundleEntries: maxEntries,
  };
  const plan = mapped(study, () => buildStudyTransaction(input, mapping));
  plan.rejectedInstances += malformed.length;
  await recordPlan(plan, message, deps);

  // 4. Carry out the plan.
  const result = {
    study,
    instances: plan.instances,
    series: plan.series,
    warnings: plan.warnings,
    rejectedInstances: plan.rejectedInstances,
  };
  switch (plan.action) {
    case 'keep':
      // Every instance is unusable: leave FHIR as it is rather than deleting a study that does exist.
      return { ...result, outcome: 'unchanged', ...omitUndefined({ imagingStudyId: state.imagingStudy?.id }) };
    case 'remove':
      if (screened.returned === 0 && missing > 0) {
        // The feed said these instances were current, the server says the study is gone: the delete rows of a
        // later poll will say which is true. Deleting on a 404 alone could wipe a study over a server glitch.
        return { ...result, outcome: 'unchanged', ...omitUndefined({ imagingStudyId: state.imagingStudy?.id }) };
      }
      return await removeStudy(message, state, plan.removal, deps, mapping.generateObservations);
    case 'invalid':
      throw invalidResourceError(plan, study);
    case 'unchanged':
      return {
        ...result,
        outcome: 'unchanged',
        ...omitUndefined({
          imagingStudyId: state.imagingStudy?.id,
          patientId: state.patient?.id,
          endpointId: state.endpoint?.id,
        }),
      };
    case 'write': {
      const written = await writeTransaction(plan.transaction, state, identity, context, mapping);
      if ('restart' in written) return written;
      const { created, updated, deleted } = plan.observations;
      return {
        ...result,
        ...written,
        ...(mapping.generateObservations ? { observations: { created, updated, deleted } } : {}),
      };
    }
  }
}

/**
 * Sends the planned transaction, then makes sure no racing writer left a second copy of what it created: a
 * conditional create is not atomic on every server (AHDS). After creating, look again, and merge a copy another
 * writer created at the same time (the one of us that commits last sees both).
 */
async function writeTransaction(
  transaction: PlannedTransaction,
  state: FhirStudyState,
  identity: PatientIdentifier | undefined,
  context: SettleContext,
  mapping: MappingOptions,
): Promise<{ restart: string } | Pick<StudySyncResult, 'outcome' | 'imagingStudyId' | 'patientId' | 'endpointId'>> {
  const { fhir } = context.deps;
  const { study, partition } = context.message;
  const sent = await sendStudyTransaction(transaction, study, fhir);
  if (sent.deferred > 0) return { restart: `${sent.deferred} entries left for a Bundle of their own` };
  // Both looked at again in one request when both were created.
  const createdPatient = identity && sent.created.has('patient') ? identity : undefined;
  const racing = await readCreatedCopies(
    fhir,
    study,
    partition,
    createdPatient,
    sent.created.has('imagingStudy'),
    mapping,
  );
  if (racing.study) {
    const copies = racing.study;
    if (await settleCopies('ImagingStudy', copies, context)) return { restart: 'merged a racing ImagingStudy' };
  }
  if (racing.patient) {
    const copies = racing.patient;
    if (await settleCopies('Patient', copies, context)) return { restart: 'merged a racing Patient' };
    // Our copy merged into another writer's by that writer: plan the demographics again against the kept one.
    if (copies.kept && sent.ids.patient && copies.kept.id !== sent.ids.patient) {
      return { restart: 'our new Patient was merged into a racing copy' };
    }
  }
  return {
    outcome: state.imagingStudy ? 'updated' : 'created',
    ...omitUndefined({
      imagingStudyId: state.imagingStudy?.id ?? sent.ids.imagingStudy,
      patientId: state.patient?.id ?? sent.ids.patient,
      endpointId: state.endpoint?.id ?? sent.ids.endpoint,
    }),
  };
}
