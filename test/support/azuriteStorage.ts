import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import type { StorageConnection } from '../../shared/config/storageConnection.js';

/** Starts Azurite for the enclosing describe; `storage()` is its connection once `before` has run. */
export function useAzuriteStorage(): () => StorageConnection {
  let azurite: RunningAzurite | undefined;
  let storage: StorageConnection | undefined;
  before(async () => {
    azurite = await startAzurite();
    storage = { kind: 'connectionString', connectionString: azurite.connectionString };
  });
  after(async () => {
    await azurite?.close();
  });
  return () => {
    if (!storage) throw new Error('Azurite is not started yet (call storage() inside a test)');
    return storage;
  };
}

/** A table or queue name no other test uses. */
export const uniqueName = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;
