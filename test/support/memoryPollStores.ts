import type { Failure } from '../../shared/errors/errors.js';
import type { MessageQueue } from '../../shared/queue/messageQueue.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';
import { decodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import type { Checkpoint, CheckpointStore } from '../../shared/state/checkpointStore.js';
import type { FailureRecord, FailureStore } from '../../shared/state/failureStore.js';

/**
 * In-memory checkpoint, queue and failure stores for unit tests of the poller's decisions (which rows it takes, where
 * it moves, what it records), fast enough for a mutation run. The same contracts against Azurite:
 * test/shared/sync/poll.test.ts, test/shared/state/*.test.ts.
 */
export interface MemoryPollStores {
  checkpoints: CheckpointStore & { stored?: { checkpoint: Checkpoint; etag: string }; writes: Checkpoint[] };
  queue: MessageQueue & { texts: string[]; messages(): StudyMessage[] };
  failures: FailureStore & { records: Failure[] };
}

export function memoryPollStores(initial?: Checkpoint): MemoryPollStores {
  let etags = 0;
  const checkpoints: MemoryPollStores['checkpoints'] = {
    writes: [],
    ...(initial ? { stored: { checkpoint: initial, etag: `"${++etags}"` } } : {}),
    read() {
      return Promise.resolve(checkpoints.stored && { ...checkpoints.stored });
    },
    write(checkpoint, etag) {
      if (etag !== checkpoints.stored?.etag) return Promise.resolve({ outcome: 'conflict' as const });
      checkpoints.stored = { checkpoint, etag: `"${++etags}"` };
      checkpoints.writes.push(checkpoint);
      return Promise.resolve({ outcome: 'written' as const, etag: checkpoints.stored.etag });
    },
  };
  const queue: MemoryPollStores['queue'] = {
    texts: [],
    send(texts) {
      queue.texts.push(...texts);
      return Promise.resolve();
    },
    messages: () => queue.texts.map(decodeStudyMessage),
  };
  const failures: MemoryPollStores['failures'] = {
    records: [],
    record(failure) {
      failures.records.push(failure);
      const record: FailureRecord = { ...failure, id: String(failures.records.length), occurredAt: '' };
      return Promise.resolve(record);
    },
    list: () => Promise.reject(new Error('not used by the poller')),
    remove: () => Promise.reject(new Error('not used by the poller')),
  };
  return { checkpoints, queue, failures };
}
