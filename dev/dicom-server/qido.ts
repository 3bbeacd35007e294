// QIDO-RS: study, series and instance level attributes, and matching of the query keys we support.
import { getPersonNames, getStrings, type DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { InvalidRequestError } from './dicomService.js';
import type { SeriesIndex, StoredInstance, StudyIndex } from './instanceStore.js';
import { INSTANCE_LEVEL_TAGS, pick, SERIES_LEVEL_TAGS, sortTags, STUDY_LEVEL_TAGS } from './metadata.js';
import type { QueryParameters } from './queryParameters.js';

type MatchKind = 'uid' | 'date' | 'name' | 'text';

interface QueryKey {
  keyword: string;
  tag: string;
  kind: MatchKind;
}

const key = (keyword: string, tag: string, kind: MatchKind): QueryKey => ({ keyword, tag, kind });

export const STUDY_KEYS = [
  key('StudyInstanceUID', '0020000D', 'uid'),
  key('PatientID', '00100020', 'text'),
  key('PatientName', '00100010', 'name'),
  key('AccessionNumber', '00080050', 'text'),
  key('StudyDate', '00080020', 'date'),
  key('ModalitiesInStudy', '00080061', 'text'),
  key('ReferringPhysicianName', '00080090', 'name'),
];
export const SERIES_KEYS = [
  key('SeriesInstanceUID', '0020000E', 'uid'),
  key('Modality', '00080060', 'text'),
  key('SeriesNumber', '00200011', 'text'),
];
export const INSTANCE_KEYS = [
  key('SOPInstanceUID', '00080018', 'uid'),
  key('SeriesInstanceUID', '0020000E', 'uid'),
  key('InstanceNumber', '00200013', 'text'),
];

const PAGING_AND_IGNORED = new Set(['limit', 'offset', 'includefield', 'fuzzymatching']);

export interface QidoQuery {
  matches(dataset: DicomJsonDataset): boolean;
  offset: number;
  limit: number;
}

/** Reads the query; unknown attributes are refused as the service refuses them. */
export function parseQidoQuery(query: QueryParameters, keys: readonly QueryKey[]): QidoQuery {
  const known = new Set(keys.flatMap((k) => [k.keyword.toLowerCase(), k.tag.toLowerCase()]));
  for (const name of query.names()) {
    if (!known.has(name) && !PAGING_AND_IGNORED.has(name)) {
      throw new InvalidRequestError(`The query parameter '${name}' is not supported.`);
    }
  }
  const conditions = keys
    .map((k) => ({ key: k, values: query.all(k.keyword, k.tag).filter((v) => v !== '') }))
    .filter((c) => c.values.length > 0);
  return {
    offset: query.integer('offset', 0, 0, Number.MAX_SAFE_INTEGER),
    limit: query.integer('limit', 100, 1, 200),
    matches: (dataset) => conditions.every((c) => c.values.every((v) => matchesKey(dataset, c.key, v))),
  };
}

function matchesKey(dataset: DicomJsonDataset, queryKey: QueryKey, wanted: string): boolean {
  switch (queryKey.kind) {
    case 'uid': {
      const list = new Set(wanted.split(/[,\\]/).map((uid) => uid.trim()));
      return getStrings(dataset, queryKey.tag).some((uid) => list.has(uid));
    }
    case 'date': {
      const [from, to] = wanted.includes('-') ? wanted.split('-') : [wanted, wanted];
      return getStrings(dataset, queryKey.tag).some((date) => (!from || date >= from) && (!to || date <= to));
    }
    case 'name': {
      const pattern = wildcard(wanted, 'i');
      return getPersonNames(dataset, queryKey.tag).some((name) => pattern.test(name.Alphabetic ?? ''));
    }
    case 'text': {
      const pattern = wildcard(wanted, '');
      return getStrings(dataset, queryKey.tag).some((value) => pattern.test(value));
    }
  }
}

function wildcard(text: string, flags: string): RegExp {
  const escaped = text
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, flags);
}

function newest(instances: Iterable<StoredInstance>): StoredInstance | undefined {
  let best: StoredInstance | undefined;
  for (const instance of instances) if (!best || instance.writeOrder > best.writeOrder) best = instance;
  return best;
}

/** Study attributes from the most recently written instance, with the study's counts and modalities. */
export function studyAttributes(study: StudyIndex): DicomJsonDataset {
  const modalities = new Set<string>();
  let instances = 0;
  let latest: StoredInstance | undefined;
  for (const series of study.values()) {
    for (const instance of series.values()) {
      instances++;
      for (const modality of getStrings(instance.dataset, '00080060')) modalities.add(modality);
      if (!latest || instance.writeOrder > latest.writeOrder) latest = instance;
    }
  }
  return sortTags({
    ...pick(latest?.dataset ?? {}, STUDY_LEVEL_TAGS),
    '00080061': { vr: 'CS', Value: [...modalities].sort() },
    '00201206': { vr: 'IS', Value: [study.size] },
    '00201208': { vr: 'IS', Value: [instances] },
  });
}

export function seriesAttributes(series: SeriesIndex): DicomJsonDataset {
  return sortTags({
    ...pick(newest(series.values())?.dataset ?? {}, SERIES_LEVEL_TAGS),
    '00201209': { vr: 'IS', Value: [series.size] },
  });
}

export function instanceAttributes(instance: StoredInstance): DicomJsonDataset {
  return pick(instance.dataset, INSTANCE_LEVEL_TAGS);
}

/** Filters lazily and stops once the page is full. */
export function page<T>(items: Iterable<T>, query: QidoQuery, attributes: (item: T) => DicomJsonDataset) {
  const out: DicomJsonDataset[] = [];
  let skipped = 0;
  for (const item of items) {
    const dataset = attributes(item);
    if (!query.matches(dataset)) continue;
    if (skipped < query.offset) {
      skipped++;
      continue;
    }
    out.push(dataset);
    if (out.length >= query.limit) break;
  }
  return out;
}
