/**
 * The server's storage lock, first come first served: a write runs alone, after everything queued before it; reads
 * queued between two writes run together. So a read never sees a transaction half applied (as on a database with
 * read-committed isolation, which AHDS and HAPI run on), and, with simulated storage latency, reads do not wait for
 * one another, as they do not on those servers.
 */
export class StorageLock {
  /** Settles when the last write queued so far has run. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** The reads queued since that write: the next write waits for them. */
  private readsSinceWrite: Promise<void>[] = [];

  read<T>(task: () => Promise<T>): Promise<T> {
    const result = this.lastWrite.then(task);
    this.readsSinceWrite.push(settled(result));
    return result;
  }

  write<T>(task: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.lastWrite, ...this.readsSinceWrite]).then(task);
    this.lastWrite = settled(result);
    this.readsSinceWrite = [];
    return result;
  }
}

function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}
