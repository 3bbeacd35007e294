import type { FailureStore } from '../state/failureStore.js';
import type { Telemetry } from './telemetry.js';

/** The failure store, counting each record it writes by category (metric dicomcast.failures). */
export function countedFailures(store: FailureStore, telemetry: Telemetry): FailureStore {
  return {
    async record(failure) {
      const record = await store.record(failure);
      telemetry.recordFailure(failure.category);
      return record;
    },
    list: (options) => store.list(options),
    remove: (id) => store.remove(id),
  };
}
