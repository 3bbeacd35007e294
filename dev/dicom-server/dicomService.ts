// The DICOM server's write operations. They run one at a time (a promise chain), so the index, the feed
// and the files on disk change together and in order.
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { forEachLimited } from '../../shared/lib/concurrency.js';
import type { ChangeFeedLog, InstanceIdentity } from './changeFeed.js';
import type { InstanceStore } from './instanceStore.js';
import { applyChange, isValidUid, parseInstance, type ParsedInstance } from './part10.js';

/** STOW-RS FailureReason (0008,1197) codes used by the Azure DICOM service. */
export const FailureReason = {
  ProcessingFailure: 272,
  ValidationFailure: 43264,
  StudyUidMismatch: 43265,
} as const;

export interface StoredReference {
  study: string;
  series: string;
  sop: string;
  sopClass: string | undefined;
}

export interface FailedReference {
  sop: string | undefined;
  sopClass: string | undefined;
  reason: number;
}

export interface StoreOutcome {
  stored: StoredReference[];
  failed: FailedReference[];
}

/** A request the service refuses (HTTP 400). */
export class InvalidRequestError extends Error {}

/** Attributes a bulk update may not touch: identity, file meta, pixel data. */
const PROTECTED_TAGS = new Set(['0020000D', '0020000E', '00080018', '00080016', '7FE00010']);

const WRITE_CONCURRENCY = 8;

export class DicomService {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: InstanceStore,
    private readonly feed: ChangeFeedLog,
  ) {}

  /** Stores Part-10 files (STOW-RS). With `requiredStudy`, files of another study fail with 43265. */
  storeFiles(partition: string, files: readonly Buffer[], requiredStudy?: string): Promise<StoreOutcome> {
    const outcome: StoreOutcome = { stored: [], failed: [] };
    const accepted: { file: Buffer; parsed: ParsedInstance; identity: InstanceIdentity }[] = [];
    for (const file of files) {
      let parsed: ParsedInstance;
      try {
        parsed = parseInstance(file);
      } catch {
        outcome.failed.push({ sop: undefined, sopClass: undefined, reason: FailureReason.ProcessingFailure });
        continue;
      }
      const { study, series, sop, sopClass } = parsed;
      if (!study || !series || !sop || ![study, series, sop].every(isValidUid)) {
        outcome.failed.push({ sop, sopClass, reason: FailureReason.ValidationFailure });
      } else if (requiredStudy !== undefined && study !== requiredStudy) {
        outcome.failed.push({ sop, sopClass, reason: FailureReason.StudyUidMismatch });
      } else {
        accepted.push({ file, parsed, identity: { partition, study, series, sop } });
      }
    }
    return this.exclusive(async () => {
      // The same instance twice in one request: only its last file needs to reach the disk.
      const lastIndex = new Map<string, number>();
      accepted.forEach(({ identity }, index) => lastIndex.set(this.store.filePathFor(identity), index));
      const writes = accepted.filter(
        ({ identity }, index) => lastIndex.get(this.store.filePathFor(identity)) === index,
      );
      await forEachLimited(writes, WRITE_CONCURRENCY, ({ identity, file }) =>
        this.store.writeFile(this.store.filePathFor(identity), file),
      );
      for (const { identity, parsed } of accepted) {
        const filePath = this.store.filePathFor(identity);
        this.store.put({ ...identity, sopClass: parsed.sopClass, dataset: parsed.dataset, filePath });
        this.feed.recordWrite('create', identity, parsed.dataset, filePath);
        outcome.stored.push({
          study: identity.study,
          series: identity.series,
          sop: identity.sop,
          sopClass: parsed.sopClass,
        });
      }
      return outcome;
    });
  }

  /** Deletes a study, a series or an instance; resolves to how many instances went (0: nothing matched). */
  delete(partition: string, study: string, series?: string, sop?: string): Promise<number> {
    return this.exclusive(async () => {
      const doomed = this.store.select(partition, study, series, sop);
      for (const instance of doomed) {
        this.store.remove(instance);
        this.feed.recordDelete(instance, instance.filePath);
      }
      await forEachLimited(doomed, WRITE_CONCURRENCY, (instance) => this.store.removeFile(instance.filePath));
      return doomed.length;
    });
  }

  /**
   * Bulk update of patient/study attributes: rewrites every current instance of the studies and appends one
   * `update` row per instance. Studies with no current instance are skipped. Resolves to the instances updated.
   */
  async bulkUpdate(partition: string, studies: readonly string[], change: DicomJsonDataset): Promise<number> {
    const normalized = validateChange(change);
    return this.exclusive(async () => {
      let updated = 0;
      for (const study of new Set(studies)) {
        for (const instance of this.store.select(partition, study)) {
          const result = applyChange(await this.store.readFile(instance), normalized);
          await this.store.writeFile(instance.filePath, result.file);
          this.store.put({ ...instance, dataset: result.dataset });
          this.feed.recordWrite('update', instance, result.dataset, instance.filePath);
          updated++;
        }
      }
      return updated;
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

function validateChange(change: unknown): DicomJsonDataset {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) {
    throw new InvalidRequestError('changeDataset must be a DICOM JSON object');
  }
  const out: DicomJsonDataset = {};
  for (const [key, attribute] of Object.entries(change as Record<string, unknown>)) {
    const tag = key.toUpperCase();
    if (!/^[0-9A-F]{8}$/.test(tag)) throw new InvalidRequestError(`changeDataset key ${key} is not a tag`);
    if (PROTECTED_TAGS.has(tag) || tag.startsWith('0002')) {
      throw new InvalidRequestError(`changeDataset may not change ${tag}`);
    }
    if (typeof attribute !== 'object' || attribute === null || typeof (attribute as { vr?: unknown }).vr !== 'string') {
      throw new InvalidRequestError(`changeDataset ${tag} needs a vr`);
    }
    const value = (attribute as { Value?: unknown }).Value;
    if (value !== undefined && !Array.isArray(value))
      throw new InvalidRequestError(`changeDataset ${tag} Value must be an array`);
    out[tag] = attribute as DicomJsonDataset[string];
  }
  return out;
}
