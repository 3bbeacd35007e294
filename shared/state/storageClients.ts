import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { lazyCredential } from '../auth/lazyCredential.js';
import type { StorageConnection } from '../config/storageConnection.js';
import { RetryableError } from '../errors/errors.js';
import { httpStatusOf } from '../lib/errorDetails.js';

const credentials = new Map<string, TokenCredential>();

/**
 * The identity storage calls run as: the user-assigned identity when a client id is set
 * (AzureWebJobsStorage__clientId, as the Functions host reads it), otherwise DefaultAzureCredential.
 * One per process, so tokens are cached across calls; @azure/identity is imported at the first token (lazyCredential).
 */
export function storageCredential(clientId: string | undefined): TokenCredential {
  const key = clientId ?? '';
  let credential = credentials.get(key);
  if (!credential) {
    credential = lazyCredential((identity) =>
      clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.DefaultAzureCredential(),
    );
    credentials.set(key, credential);
  }
  return credential;
}

/** Azurite and the emulator speak plain http; the SDK refuses that unless told. */
export function isPlainHttpConnectionString(connectionString: string): boolean {
  return /(^|;)\s*UseDevelopmentStorage=true/i.test(connectionString) || /=\s*http:\/\//i.test(connectionString);
}

/** Runs `create` once per process and key; a failure is forgotten so the next caller tries again. */
export function once(cache: Map<string, Promise<void>>, key: string, create: () => Promise<void>): Promise<void> {
  let pending = cache.get(key);
  if (!pending) {
    pending = create();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

/** A short, secret-free description of a storage SDK error (status and error code only). */
export function describeStorageError(error: unknown): string {
  const status = httpStatusOf(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const parts = [
    status !== undefined ? `HTTP ${status}` : undefined,
    typeof code === 'string' ? code : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : 'network error';
}

const createdTables = new Map<string, Promise<void>>();

/** A client for one table, created if missing (once per process). */
export async function createTableClient(storage: StorageConnection, tableName: string): Promise<TableClient> {
  const client =
    storage.kind === 'connectionString'
      ? TableClient.fromConnectionString(storage.connectionString, tableName, {
          allowInsecureConnection: isPlainHttpConnectionString(storage.connectionString),
        })
      : new TableClient(storage.tableServiceUri, tableName, storageCredential(storage.clientId), {
          allowInsecureConnection: storage.tableServiceUri.startsWith('http://'),
        });
  try {
    // createTable treats "already exists" as success.
    await once(createdTables, `${client.url}|${tableName}`, () => client.createTable());
  } catch (error) {
    throw new RetryableError(
      `Creating table ${tableName} failed: ${describeStorageError(error)}`,
      'transient',
      {},
      {
        cause: error,
      },
    );
  }
  return client;
}

/**
 * At most `max` characters of a text that came from data, for a table property (which holds 32 Ki characters);
 * a cut text says how long it was.
 */
export function capText(value: string, max: number): string {
  if (value.length <= max) return value;
  const note = `… (${value.length} characters)`;
  return value.slice(0, Math.max(0, max - note.length)) + note;
}
