// Current instances: an in-memory partition → study → series → instance index over Part-10 files on disk.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import type { InstanceIdentity } from './changeFeed.js';

export interface StoredInstance extends InstanceIdentity {
  sopClass: string | undefined;
  dataset: DicomJsonDataset;
  /** Relative to the data directory (the change feed's `filePath`). */
  filePath: string;
  /** Increases with every store or update: the newest instance of a study speaks for the study. */
  writeOrder: number;
}

export type SeriesIndex = Map<string, StoredInstance>;
export type StudyIndex = Map<string, SeriesIndex>;

export class InstanceStore {
  private readonly partitions = new Map<string, Map<string, StudyIndex>>();
  private readonly createdDirectories = new Set<string>();
  private writes = 0;
  private temporaryFiles = 0;

  constructor(readonly dataDir: string) {}

  filePathFor(instance: InstanceIdentity): string {
    return join(instance.partition, instance.study, instance.series, `${instance.sop}.dcm`);
  }

  /** Writes the file next to its final name, then renames it, so readers never see half a file. */
  async writeFile(filePath: string, bytes: Uint8Array): Promise<void> {
    const absolute = join(this.dataDir, filePath);
    const directory = dirname(absolute);
    if (!this.createdDirectories.has(directory)) {
      await mkdir(directory, { recursive: true });
      this.createdDirectories.add(directory);
    }
    const temporary = `${absolute}.${++this.temporaryFiles}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, absolute);
  }

  readFile(instance: StoredInstance): Promise<Buffer> {
    return readFile(join(this.dataDir, instance.filePath));
  }

  async removeFile(filePath: string): Promise<void> {
    await rm(join(this.dataDir, filePath), { force: true });
  }

  put(instance: Omit<StoredInstance, 'writeOrder'>): StoredInstance {
    const stored: StoredInstance = { ...instance, writeOrder: ++this.writes };
    const studies = getOrCreate(this.partitions, instance.partition, () => new Map<string, StudyIndex>());
    const study = getOrCreate(studies, instance.study, () => new Map<string, SeriesIndex>());
    getOrCreate(study, instance.series, () => new Map<string, StoredInstance>()).set(instance.sop, stored);
    return stored;
  }

  get(instance: InstanceIdentity): StoredInstance | undefined {
    return this.series(instance.partition, instance.study, instance.series)?.get(instance.sop);
  }

  remove(instance: InstanceIdentity): boolean {
    const studies = this.partitions.get(instance.partition);
    const study = studies?.get(instance.study);
    const series = study?.get(instance.series);
    if (!studies || !study || !series?.delete(instance.sop)) return false;
    if (series.size === 0) study.delete(instance.series);
    if (study.size === 0) studies.delete(instance.study);
    return true;
  }

  studies(partition: string): ReadonlyMap<string, StudyIndex> {
    return this.partitions.get(partition) ?? new Map<string, StudyIndex>();
  }

  study(partition: string, study: string): StudyIndex | undefined {
    return this.partitions.get(partition)?.get(study);
  }

  series(partition: string, study: string, series: string): SeriesIndex | undefined {
    return this.study(partition, study)?.get(series);
  }

  /** Instances of a study, a series of it, or one instance (an empty list when nothing matches). */
  select(partition: string, study: string, series?: string, sop?: string): StoredInstance[] {
    const studyIndex = this.study(partition, study);
    if (!studyIndex) return [];
    if (series === undefined) return [...studyIndex.values()].flatMap((index) => [...index.values()]);
    const seriesIndex = studyIndex.get(series);
    if (!seriesIndex) return [];
    if (sop === undefined) return [...seriesIndex.values()];
    const instance = seriesIndex.get(sop);
    return instance ? [instance] : [];
  }

  *all(): Generator<StoredInstance> {
    for (const studies of this.partitions.values()) {
      for (const study of studies.values()) {
        for (const series of study.values()) yield* series.values();
      }
    }
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
