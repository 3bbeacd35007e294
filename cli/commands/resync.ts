/**
 * `dicom-cast resync`: enqueue a reconcile message per study of the DICOM server (QIDO-RS walk), or for one study,
 * so the writers bring FHIR back in line: after FHIR lost data, after a mapping fix, or to fill a gap.
 */
import { parseArgs } from 'node:util';
import { parsePositiveInt, processIo, progressLine, UsageError, type CliIo } from '../../shared/ops/cli.js';
import { dicomDateOf, reconcileMessage, resyncAll } from '../../shared/ops/resync.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';

const usage = `Usage:
  dicom-cast resync --study <StudyInstanceUID> [--partition <name>]
  dicom-cast resync --all [--since <YYYY-MM-DD>] [--page-size N] [--restart]

Enqueues a reconcile message per study; the imagingStudyWriter function then writes the study's Patient,
Endpoint and ImagingStudy from what the DICOM server holds now (or removes an ImagingStudy it owns whose
study is gone). Run it with the Functions app running, or follow it with \`npm run local\`.

--all walks the DICOM server with QIDO-RS (GET /v2/studies?limit&offset), page by page. The position is
saved after each page in the checkpoint table (partition "resync"), so an interrupted run (Ctrl-C, a crash)
picks up where it stopped when run again with the same --since; --restart starts from the first study.
--since keeps studies whose StudyDate is on or after that date.

  --page-size N   studies per QIDO-RS request, 1-200 (default 100)
  --max-pages N   stop after N pages (the next run resumes)
  --help`;

export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        study: { type: 'string' },
        partition: { type: 'string' },
        all: { type: 'boolean' },
        since: { type: 'string' },
        'page-size': { type: 'string' },
        'max-pages': { type: 'string' },
        restart: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
    if (values.help) {
      io.out(usage);
      return 0;
    }
    if ((values.study !== undefined) === (values.all === true))
      throw new UsageError('Give either --study <uid> or --all');
    if (values.study !== undefined && (values.since !== undefined || values.restart)) {
      throw new UsageError('--since and --restart go with --all');
    }
    if (values.since !== undefined) dicomDateOf(values.since);
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }

  const runtime = await io.runtime();
  if (values.study !== undefined) {
    const study = values.study.trim();
    await runtime.studyQueue.send([encodeStudyMessage(reconcileMessage(study, values.partition))]);
    io.out(`Enqueued a reconcile message for study ${study}.`);
    return 0;
  }
  if (values.partition !== undefined) {
    io.err('--partition goes with --study: --all walks the default partition.');
    return 2;
  }

  let pageSize: number;
  let maxPages: number | undefined;
  try {
    pageSize = parsePositiveInt('page-size', values['page-size'], 100);
    if (pageSize > 200) throw new UsageError('--page-size must be 200 or less');
    maxPages = values['max-pages'] !== undefined ? parsePositiveInt('max-pages', values['max-pages'], 1) : undefined;
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
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
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let enqueued = 0;
  if (io.errIsTTY) timer = setInterval(() => io.progress(progressLine(enqueued, 'studies enqueued', startedAt)), 200);
  try {
    const result = await resyncAll(runtime, {
      ...(values.since !== undefined ? { since: values.since } : {}),
      pageSize,
      ...(maxPages !== undefined ? { maxPages } : {}),
      restart: values.restart === true,
      signal: controller.signal,
      onProgress: (progress) => {
        enqueued = progress.enqueued;
        if (io.errIsTTY) io.progress(progressLine(enqueued, 'studies enqueued', startedAt));
      },
    });
    if (io.errIsTTY) io.progress('');
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
    if (timer) clearInterval(timer);
    process.off('SIGINT', onInterrupt);
  }
}
