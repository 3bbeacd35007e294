import { ConfigurationError } from '../errors/errors.js';
import { assertResolved } from './keyVaultReference.js';
import { readSetting, type FlatSettings } from './settingsSource.js';

/** Where the queues and tables live: an AzureWebJobsStorage connection string, or an identity-based connection. */
export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; tableServiceUri: string; clientId?: string };

/** Every storage setting the app reads: a connection string, or the parts of an identity-based connection. */
export const storageSettingPaths = [
  'AzureWebJobsStorage',
  'AzureWebJobsStorage:accountName',
  'AzureWebJobsStorage:queueServiceUri',
  'AzureWebJobsStorage:tableServiceUri',
  'AzureWebJobsStorage:clientId',
] as const;

export function parseStorage(settings: FlatSettings): StorageConnection {
  for (const path of storageSettingPaths) assertResolved(path, readSetting(settings, path.split(':')));
  const connectionString = readSetting(settings, ['AzureWebJobsStorage']);
  if (connectionString && connectionString.trim() !== '') {
    return { kind: 'connectionString', connectionString: connectionString.trim() };
  }
  const accountName = readSetting(settings, ['AzureWebJobsStorage', 'accountName']);
  const queueServiceUri =
    readSetting(settings, ['AzureWebJobsStorage', 'queueServiceUri']) ??
    (accountName ? `https://${accountName}.queue.core.windows.net` : undefined);
  const tableServiceUri =
    readSetting(settings, ['AzureWebJobsStorage', 'tableServiceUri']) ??
    (accountName ? `https://${accountName}.table.core.windows.net` : undefined);
  if (!queueServiceUri || !tableServiceUri) {
    throw new ConfigurationError(
      'Missing setting AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName (identity-based)',
      'AzureWebJobsStorage',
    );
  }
  const clientId = readSetting(settings, ['AzureWebJobsStorage', 'clientId']);
  return { kind: 'identity', queueServiceUri, tableServiceUri, ...(clientId ? { clientId } : {}) };
}
