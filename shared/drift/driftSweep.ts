import type { AxiosInstance } from 'axios';
import type { DicomWebApiVersion } from '../dicomweb/apiVersion.js';
import type { FhirPages } from '../fhir/fhirClient.js';
import type { Log } from '../logging/log.js';
import type { MappingOptions } from '../mapping/types.js';
import { enqueueStudies } from '../ops/resync.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import { archiveStudy, queryArchiveStudies } from './archiveStudies.js';
import { fhirStudiesFor, fhirStudiesPage } from './fhirStudies.js';
import { compareStudies, type StudyDrift } from './studyDrift.js';
import type { SweepCursor, SweepCursorStore } from './sweepCursor.js';

export interface DriftSweepDeps {
  dicomHttp: AxiosInstance;
  version: DicomWebApiVersion;
  mapping: MappingOptions;
  fhir: FhirPages;
  queue: MessageQueue;
  cursors: SweepCursorStore;
  /** Milliseconds; only differences are used. */
  now: () => number;
  log?: Log;
}

export interface DriftSweepOptions {
  pageSize: number;
  /** Pages (archive and FHIR) this run reads at most. */
  maxPages: number;
  /** This run stops starting pages after this long. */
  maxMs: number;
}

export interface DriftSweepResult {
  pages: number;
  /** DICOMweb and FHIR requests this run made. */
  requests: number;
  /** Time spent waiting for each server. */
  archiveMs: number;
  fhirMs: number;
  studiesChecked: number;
  drifts: Record<StudyDrift['kind'], number>;
  /** Listed in FHIR, not by the archive's page, and confirmed gone by a direct query. */
  confirmedGone: number;
  enqueued: number;
  /** The sweep went through both sides; the cursor is cleared and the next run starts over. */
  complete: boolean;
  /** Set when this run resumed a stopped sweep. */
  resumed: boolean;
  phase: SweepCursor['phase'];
  durationMs: number;
}

/**
 * One bounded run of the drift sweep. Archive phase: each QIDO-RS page of studies is looked up in FHIR with one
 * identifier search. FHIR phase: each page of ImagingStudies is looked up in the archive with one UID-list query.
 * Every study missing on either side, or whose instance count or subject differs, gets a reconcile message: the
 * writer then makes FHIR match the archive. An ImagingStudy the archive's page did not list is only acted on after a
 * direct query for its UID finds nothing (paging is not stable under deletes), and only when this app wrote it.
 */
export async function runDriftSweep(deps: DriftSweepDeps, options: DriftSweepOptions): Promise<DriftSweepResult> {
  const startedAt = deps.now();
  const log = deps.log ?? (() => undefined);
  const endpoint = deps.mapping.endpoint;
  const saved = await deps.cursors.read();
  const cursor: SweepCursor = saved ?? {
    phase: 'archive',
    offset: 0,
    startedAt: new Date().toISOString(),
    studiesChecked: 0,
    enqueued: 0,
  };
  const result: DriftSweepResult = {
    pages: 0,
    requests: 0,
    archiveMs: 0,
    fhirMs: 0,
    studiesChecked: 0,
    drifts: { 'missing-in-fhir': 0, 'missing-in-archive': 0, 'instances-differ': 0, 'subject-differs': 0 },
    confirmedGone: 0,
    enqueued: 0,
    complete: false,
    resumed: saved !== undefined,
    phase: cursor.phase,
    durationMs: 0,
  };
  const enqueuedThisRun = new Set<string>();
  const timed = async <T>(side: 'archiveMs' | 'fhirMs', call: () => Promise<T>): Promise<T> => {
    const from = deps.now();
    try {
      return await call();
    } finally {
      result[side] += deps.now() - from;
    }
  };

  const act = async (drifts: StudyDrift[]) => {
    for (const drift of drifts) result.drifts[drift.kind]++;
    const studies = [...new Set(drifts.map((drift) => drift.study))].filter((study) => !enqueuedThisRun.has(study));
    if (studies.length === 0) return;
    await enqueueStudies(deps.queue, studies);
    for (const study of studies) enqueuedThisRun.add(study);
    result.enqueued += studies.length;
    cursor.enqueued += studies.length;
    log('info', `Drift sweep: ${studies.length} studies enqueued for resync`, { studies: studies.slice(0, 20) });
  };

  const archivePage = async (): Promise<void> => {
    const page = await timed('archiveMs', () =>
      queryArchiveStudies(deps.dicomHttp, deps.version, deps.mapping, {
        limit: options.pageSize,
        offset: cursor.offset,
      }),
    );
    const fhir = await timed('fhirMs', () =>
      fhirStudiesFor(
        deps.fhir,
        endpoint,
        page.studies.map((study) => study.study),
      ),
    );
    result.requests += page.studies.length > 0 ? 2 : 1;
    result.studiesChecked += page.studies.length;
    cursor.studiesChecked += page.studies.length;
    // FHIR found only studies of this page, so nothing here is "missing in the archive".
    await act(compareStudies(page.studies, fhir.studies));
    cursor.offset += page.returned;
    if (page.returned < options.pageSize) {
      cursor.phase = 'fhir';
      delete cursor.fhirNext;
    }
  };

  const fhirPage = async (): Promise<boolean> => {
    const page = await timed('fhirMs', () => fhirStudiesPage(deps.fhir, endpoint, options.pageSize, cursor.fhirNext));
    result.requests++;
    const owned = page.studies.filter((study) => study.owned);
    const listed =
      owned.length === 0
        ? []
        : (
            await timed('archiveMs', () =>
              queryArchiveStudies(deps.dicomHttp, deps.version, deps.mapping, {
                limit: owned.length + 1,
                studies: owned.map((study) => study.study),
              }),
            )
          ).studies;
    if (owned.length > 0) result.requests++;
    result.studiesChecked += owned.length;
    cursor.studiesChecked += owned.length;
    const drifts = compareStudies(listed, owned);
    const confirmed: StudyDrift[] = [];
    for (const drift of drifts) {
      if (drift.kind !== 'missing-in-archive') {
        confirmed.push(drift);
        continue;
      }
      result.requests++;
      const direct = await timed('archiveMs', () =>
        archiveStudy(deps.dicomHttp, deps.version, deps.mapping, drift.study),
      );
      if (direct) {
        const fhirStudy = owned.find((study) => study.study === drift.study);
        confirmed.push(...compareStudies([direct], fhirStudy ? [fhirStudy] : []));
      } else {
        result.confirmedGone++;
        confirmed.push(drift);
      }
    }
    await act(confirmed);
    if (page.next) {
      cursor.fhirNext = page.next;
      return false;
    }
    return true;
  };

  let slowestPageMs = 0;
  for (;;) {
    if (result.pages >= options.maxPages || deps.now() - startedAt + slowestPageMs >= options.maxMs) break;
    const pageStartedAt = deps.now();
    const wasPhase = cursor.phase;
    const finished = wasPhase === 'archive' ? (await archivePage(), false) : await fhirPage();
    result.pages++;
    slowestPageMs = Math.max(slowestPageMs, deps.now() - pageStartedAt);
    if (finished) {
      result.complete = true;
      await deps.cursors.clear();
      break;
    }
    await deps.cursors.write(cursor);
  }
  result.phase = cursor.phase;
  result.durationMs = deps.now() - startedAt;
  return result;
}
