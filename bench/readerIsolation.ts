// The reader side of the large-study targets, measured on its own: a study's metadata held whole (readStudyMetadata,
// every dataset kept, as the writer kept them before it streamed) against streamed one instance at a time with only a
// summary kept (as the writer reads it now), and the bytes that reading only the series each poll changed would have
// read. Both go through the one streamed read; they differ in what is kept.
import { noAuthorization } from '../shared/auth/index.js';
import { getString, Tag, type DicomJsonDataset } from '../shared/dicomweb/dicomJson.js';
import { createMetadataStreamReader, createStudyReader } from '../shared/dicomweb/studyReader.js';
import { createServerHttpClient } from '../shared/http/serverHttpClient.js';
import { collectGarbage, MemorySampler } from './memorySampler.js';

export interface ReadFigures {
  ms: number;
  instances: number;
  heapPeakDeltaMb: number;
}

/** What a writer would keep per instance once it streams: the instance's identity and place, not its metadata. */
function summary(dataset: DicomJsonDataset) {
  return {
    sop: getString(dataset, Tag.SOPInstanceUID),
    series: getString(dataset, Tag.SeriesInstanceUID),
    sopClass: getString(dataset, Tag.SOPClassUID),
    number: getString(dataset, Tag.InstanceNumber),
  };
}

async function measured(read: () => Promise<number>): Promise<ReadFigures> {
  collectGarbage();
  const sampler = new MemorySampler(10);
  const started = performance.now();
  const instances = await read();
  const ms = performance.now() - started;
  return { ms, instances, heapPeakDeltaMb: sampler.stop().heapUsedPeakDeltaMb };
}

export async function compareStudyReads(dicomUrl: string, study: string) {
  const http = createServerHttpClient({ baseUrl: dicomUrl, authorization: noAuthorization });
  const whole = await measured(async () => {
    const datasets = await createStudyReader(http, 'v2').readStudyMetadata(study);
    return datasets.map(summary).length;
  });
  const streamed = await measured(async () => {
    const kept: ReturnType<typeof summary>[] = [];
    await createMetadataStreamReader(http, 'v2').forEachInstance({ study }, (dataset) => kept.push(summary(dataset)));
    return kept.length;
  });
  return { whole, streamed };
}

/** Bytes of `/series/{series}/metadata` for each series, as the DICOM server counts them. */
export async function seriesMetadataReads(dicomUrl: string, study: string, series: readonly string[]): Promise<number> {
  const http = createServerHttpClient({ baseUrl: dicomUrl, authorization: noAuthorization });
  const reader = createMetadataStreamReader(http, 'v2');
  let instances = 0;
  for (const one of series) instances += await reader.forEachInstance({ study, series: one }, () => undefined);
  return instances;
}
