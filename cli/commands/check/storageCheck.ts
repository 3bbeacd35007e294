/** `dicom-cast check`: whether the queue and table services of AzureWebJobsStorage answer, with the app's clients. */
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { parseStorage, type StorageConnection } from '../../../shared/config/storageConnection.js';
import { settingDefinitions } from '../../../shared/config/settingDefinitions.js';
import { describeNetworkCode } from '../../../shared/config/keyVaultFailure.js';
import { readSetting, type FlatSettings } from '../../../shared/config/settingsSource.js';
import { errorMessage, httpStatusOf } from '../../../shared/lib/errorDetails.js';
import { studyQueueName } from '../../../shared/queue/queueNames.js';
import { isPlainHttpConnectionString, storageCredential } from '../../../shared/state/storageClients.js';
import { describeUrl, type Report } from './report.js';

export async function checkStorage(report: Report, settings: FlatSettings, timeoutMs: number): Promise<void> {
  report.heading('Storage (AzureWebJobsStorage)');
  let storage: StorageConnection;
  try {
    storage = parseStorage(settings);
  } catch (error) {
    report.line('warn', `not checked: ${errorMessage(error)}`);
    return;
  }
  const checkpointTable =
    readSetting(settings, settingDefinitions.checkpointTable.path.split(':'))?.trim() ||
    settingDefinitions.checkpointTable.default;
  // The app's clients, but with one try: a refused connection is reported as such, not as a timeout.
  const queue =
    storage.kind === 'connectionString'
      ? new QueueClient(storage.connectionString, studyQueueName, { retryOptions: { maxTries: 1 } })
      : new QueueClient(
          `${storage.queueServiceUri.replace(/\/+$/, '')}/${studyQueueName}`,
          storageCredential(storage.clientId),
          { retryOptions: { maxTries: 1 } },
        );
  const queueService = describeUrl(queue.url).replace(/\/[^/]*$/, '');
  try {
    const exists = await queue.exists({ abortSignal: AbortSignal.timeout(timeoutMs) });
    report.line(
      'ok',
      `queue service ${queueService} answered (queue ${studyQueueName} ${exists ? 'exists' : 'not created yet: the app creates it'})`,
    );
  } catch (error) {
    report.line('FAIL', `queue service ${queueService}: ${storageCause(error, timeoutMs, 'Queue')}`);
  }
  const tableOptions = { retryOptions: { maxRetries: 0 } };
  const table =
    storage.kind === 'connectionString'
      ? TableClient.fromConnectionString(storage.connectionString, checkpointTable, {
          ...tableOptions,
          allowInsecureConnection: isPlainHttpConnectionString(storage.connectionString),
        })
      : new TableClient(storage.tableServiceUri, checkpointTable, storageCredential(storage.clientId), {
          ...tableOptions,
          allowInsecureConnection: storage.tableServiceUri.startsWith('http://'),
        });
  const tableService = describeUrl(table.url);
  try {
    await table
      .listEntities({ abortSignal: AbortSignal.timeout(timeoutMs), queryOptions: { select: ['PartitionKey'] } })
      .byPage({ maxPageSize: 1 })
      .next();
    report.line('ok', `table service ${tableService} answered (table ${checkpointTable} exists)`);
  } catch (error) {
    if (httpStatusOf(error) === 404) {
      report.line(
        'ok',
        `table service ${tableService} answered (table ${checkpointTable} not created yet: the app creates it)`,
      );
    } else {
      report.line('FAIL', `table service ${tableService}: ${storageCause(error, timeoutMs, 'Table')}`);
    }
  }
}

function storageCause(error: unknown, timeoutMs: number, service: 'Queue' | 'Table'): string {
  const { name, code } = error as { name?: unknown; code?: unknown };
  const status = httpStatusOf(error);
  if (name === 'AbortError') return `timed out after ${timeoutMs / 1000} s`;
  if (status === undefined) {
    return typeof code === 'string' ? describeNetworkCode(code, 'the storage account') : 'network error';
  }
  const codeText = typeof code === 'string' ? ` ${code}` : '';
  if (status === 403 && code === 'AuthenticationFailed') {
    return `HTTP 403${codeText}: the account key or SAS in AzureWebJobsStorage is wrong or expired`;
  }
  if (status === 403) {
    return `HTTP 403${codeText}: the identity lacks the Storage ${service} Data Contributor role on the account`;
  }
  return `HTTP ${status}${codeText}`;
}
