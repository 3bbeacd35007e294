/**
 * `dicom-cast verify`: does FHIR match the archive, and if not, where? Compares the DICOM server (Azure DICOM service
 * or Orthanc, over QIDO-RS) with the ImagingStudies in FHIR and prints each difference; `--repair` enqueues a
 * reconcile message per study that differs (the writer then fixes it), `--json` prints one JSON document.
 */
import { dicomWebApiVersionOf } from '../../shared/dicomweb/apiVersion.js';
import { describeDrift, type StudyDrift } from '../../shared/drift/studyDrift.js';
import { verifyArchive } from '../../shared/drift/verify.js';
import { enqueueStudies } from '../../shared/ops/resync.js';
import { defineCommand, runCommand, UsageError } from '../commandLine.js';
import type { CliIo } from '../io.js';
import { parsePositiveInt, parseStudyDateOption } from '../optionValues.js';
import { showProgress } from '../progressLine.js';

export const command = defineCommand({
  name: 'verify',
  synopsis: ['[--study <StudyInstanceUID> | --since <YYYY-MM-DD>] [--repair] [--json]'],
  description: `Compares the DICOM server with FHIR and prints what differs:
  - a study in the archive with no ImagingStudy in FHIR
  - an ImagingStudy (written by this app) with no study behind it (confirmed by a direct QIDO-RS query)
  - instance sets that differ: the counts and the first few SOP Instance UIDs on each side
  - an ImagingStudy whose subject is not the Patient the data names
The full walk compares instance counts; --study compares one study's instances UID by UID.
Exit code 0 when in sync, 1 when not (2: a usage error).`,
  options: {
    study: { type: 'string', value: 'UID', help: 'only this study' },
    since: { type: 'string', value: 'DATE', help: 'only studies whose StudyDate (FHIR: started) is on or after DATE' },
    repair: { type: 'boolean', help: 'enqueue a reconcile message per study that differs (the writer fixes it)' },
    json: { type: 'boolean', help: 'print the result as JSON' },
    'page-size': { type: 'string', value: 'N', help: 'studies per request, 1-200 (default 100)' },
  },
});

export async function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(command, args, io, async ({ values }) => {
    if (values.study !== undefined && values.since !== undefined) {
      throw new UsageError('Give --study or --since, not both');
    }
    if (values.study !== undefined && values.study.trim() === '') throw new UsageError('--study needs a UID');
    const studyDateFrom = values.since !== undefined ? parseStudyDateOption(values.since) : undefined;
    const pageSize = parsePositiveInt('page-size', values['page-size'], 100, 200);

    const runtime = await io.runtime();
    const startedAt = Date.now();
    let compared = 0;
    const progress = showProgress(
      io,
      'studies compared',
      () => compared,
      io.errIsTTY && !values.json && values.study === undefined,
    );
    let result;
    try {
      result = await verifyArchive(
        {
          dicomHttp: runtime.dicomHttp,
          version: dicomWebApiVersionOf(runtime.config),
          mapping: runtime.mapping,
          fhir: runtime.fhirPages,
        },
        {
          ...(values.study !== undefined ? { study: values.study.trim() } : {}),
          ...(studyDateFrom ? { studyDateFrom } : {}),
          pageSize,
          onProgress: (walked) => {
            compared = walked.archiveStudies + walked.fhirStudies;
          },
        },
      );
    } finally {
      progress.stop();
    }

    const studies = [...new Set(result.drifts.map((drift) => drift.study))];
    if (values.repair && studies.length > 0) await enqueueStudies(runtime.studyQueue, studies);
    const seconds = (Date.now() - startedAt) / 1000;

    if (values.json) {
      io.out(
        JSON.stringify(
          {
            inSync: result.drifts.length === 0,
            archiveStudies: result.archiveStudies,
            fhirImagingStudies: result.fhirStudies,
            differences: result.drifts,
            repaired: values.repair ? studies : [],
            seconds,
          },
          null,
          2,
        ),
      );
    } else {
      for (const drift of result.drifts) io.out(`${label(drift)} ${describeDrift(drift)}`);
      io.out(
        `${result.archiveStudies} studies in the archive, ${result.fhirStudies} ImagingStudies in FHIR compared in ` +
          `${seconds.toFixed(1)} s: ` +
          (result.drifts.length === 0
            ? 'in sync.'
            : `${result.drifts.length} difference(s) in ${studies.length} studies.` +
              (values.repair
                ? ` Enqueued ${studies.length} reconcile message(s); the writer fixes them (run verify again to see).`
                : ' Run with --repair to enqueue reconcile messages.')),
      );
    }
    return result.drifts.length === 0 ? 0 : 1;
  });
}

function label(drift: StudyDrift): string {
  const labels: Record<StudyDrift['kind'], string> = {
    'missing-in-fhir': 'MISSING IN FHIR   ',
    'missing-in-archive': 'NOT IN ARCHIVE    ',
    'instances-differ': 'INSTANCES DIFFER  ',
    'subject-differs': 'SUBJECT DIFFERS   ',
  };
  return labels[drift.kind];
}
