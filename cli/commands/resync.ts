/**
 * `dicom-cast resync`: enqueue a reconcile message per study of the DICOM server (QIDO-RS walk), or for one study,
 * so the writers bring FHIR back in line: after FHIR lost data, after a mapping fix, or to fill a gap.
 */
import { reconcileMessage, resyncAll } from '../../shared/ops/resync.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import { defineCommand, runCommand, UsageError } from '../commandLine.js';
import type { CliIo } from '../io.js';
import { parsePositiveInt, parseStudyDateOption } from '../optionValues.js';
import { showProgress } from '../progressLine.js';

export const command = defineCommand({
  name: 'resync',
  synopsis: [
    '--study <StudyInstanceUID> [--partition <name>]',
    '--all [--since <YYYY-MM-DD>] [--page-size N] [--max-pages N] [--restart]',
  ],
  description: `Enqueues a reconcile message per study; the imagingStudyWriter function then writes the study's Patient,
Endpoint and ImagingStudy from what the DICOM server holds now (or removes an ImagingStudy it owns whose
study is gone). Run it with the Functions app running, or follow it with \`npm run local\`.

--all walks the DICOM server with QIDO-RS (GET /v2/studies?limit&offset), page by page. The position is
saved after each page in the checkpoint table (partition "resync"), so an interrupted run (Ctrl-C, a crash)
picks up where it stopped when run again with the same --since; --restart starts from the first study.`,
  options: {
    study: { type: 'string', value: 'UID', help: 'enqueue this study only' },
    partition: { type: 'string', value: 'NAME', help: "the study's data partition (with --study)" },
    all: { type: 'boolean', help: 'every study of the DICOM server' },
    since: { type: 'string', value: 'DATE', help: 'with --all: studies whose StudyDate is on or after DATE' },
    'page-size': { type: 'string', value: 'N', help: 'studies per QIDO-RS request, 1-200 (default 100)' },
    'max-pages': { type: 'string', value: 'N', help: 'stop after N pages (the next run resumes)' },
    restart: { type: 'boolean', help: 'with --all: start from the first study, not from the saved position' },
  },
});

export async function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(command, args, io, async ({ values }) => {
    if ((values.study !== undefined) === (values.all === true))
      throw new UsageError('Give either --study <uid> or --all');
    if (values.study !== undefined && (values.since !== undefined || values.restart)) {
      throw new UsageError('--since and --restart go with --all');
    }
    if (values.since !== undefined) parseStudyDateOption(values.since);
    if (values.study === undefined && values.partition !== undefined) {
      throw new UsageError('--partition goes with --study: --all walks the default partition.');
    }
    const pageSize = parsePositiveInt('page-size', values['page-size'], 100, 200);
    const maxPages =
      values['max-pages'] !== undefined ? parsePositiveInt('max-pages', values['max-pages'], 1) : undefined;

    const runtime = await io.runtime();
    if (values.study !== undefined) {
      const study = values.study.trim();
      await runtime.studyQueue.send([encodeStudyMessage(reconcileMessage(study, values.partition))]);
      io.out(`Enqueued a reconcile message for study ${study}.`);
      return 0;
    }

    const controller = new AbortController();
    let interrupts = 0;
    const onInterrupt = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      controller.abort();
      io.err('\nStopping after this page (Ctrl-C again to quit at once; the cursor is saved per page).');
    };
    process.on('SIGINT', onInterrupt);
    let enqueued = 0;
    const progress = showProgress(io, 'studies enqueued', () => enqueued);
    try {
      const result = await resyncAll(runtime, {
        ...(values.since !== undefined ? { since: values.since } : {}),
        pageSize,
        ...(maxPages !== undefined ? { maxPages } : {}),
        restart: values.restart === true,
        signal: controller.signal,
        onProgress: (walked) => {
          enqueued = walked.enqueued;
          progress.redraw();
        },
      });
      progress.stop();
      if (result.resumedFrom !== undefined) io.out(`Resumed a stopped resync at offset ${result.resumedFrom}.`);
      if (result.complete) {
        io.out(`Enqueued reconcile messages for ${result.enqueued} studies (${result.pages} page(s) read this run).`);
        return 0;
      }
      io.out(
        `Stopped at offset ${result.offset} after ${result.enqueued} studies; run the same command again to resume.`,
      );
      return controller.signal.aborted ? 130 : 0;
    } finally {
      progress.stop();
      process.off('SIGINT', onInterrupt);
    }
  });
}
