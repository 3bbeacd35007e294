import type { TableClient } from '@azure/data-tables';
import type { QueueClient } from '@azure/storage-queue';
import type { AxiosInstance } from 'axios';
import { createAuthorizationProvider, loadAuthConfig } from '../auth/index.js';
import { loadAppConfig, type AppConfig } from '../config/appConfig.js';
import { assertNoUnresolvedReferences, loadSettings } from '../config/loadSettings.js';
import type { FlatSettings } from '../config/settingsSource.js';
import { dicomWebApiVersionOf } from '../dicomweb/apiVersion.js';
import { createChangeFeedClient, type ChangeFeedClient } from '../dicomweb/changeFeedClient.js';
import { createStudyReader, type StudyReader } from '../dicomweb/studyReader.js';
import { createOrthancStudyIds, type OrthancStudyIds } from '../changes/orthancStudyIds.js';
import { createOrthancClient, type OrthancClient } from '../orthanc/orthancClient.js';
import { createFhirClient, type FhirClient, type FhirPages } from '../fhir/fhirClient.js';
import { createServerHttpClient } from '../http/serverHttpClient.js';
import type { MappingOptions } from '../mapping/index.js';
import { createQueueClient, createStorageQueue, type MessageQueue } from '../queue/messageQueue.js';
import { pollContinuationQueueName, studyPoisonQueueName, studyQueueName } from '../queue/queueNames.js';
import { createCheckpointStore, type CheckpointStore } from '../state/checkpointStore.js';
import { createFailureStore, type FailureStore } from '../state/failureStore.js';
import { createTagWarningStore, type TagWarningStore } from '../state/tagWarningStore.js';
import { createTableClient } from '../state/storageClients.js';
import { countedFailures } from '../telemetry/failures.js';
import { initTelemetry } from '../telemetry/setup.js';
import type { Telemetry } from '../telemetry/telemetry.js';

/** Everything the functions need, built once per worker from validated settings. */
export interface Runtime {
  config: AppConfig;
  mapping: MappingOptions;
  changeFeed: ChangeFeedClient;
  studyReader: StudyReader;
  fhir: FhirClient;
  /** The same FHIR client, page by page (drift sweep, verify). */
  fhirPages: FhirPages;
  checkpoints: CheckpointStore;
  failures: FailureStore;
  /** Tag warnings per study and tag (in the failure table, their own partition). */
  tagWarnings: TagWarningStore;
  studyQueue: MessageQueue;
  continuationQueue: MessageQueue;
  /** For tooling (status, replay): the raw queues. */
  queueClients: { studies: QueueClient; poison: QueueClient; continuation: QueueClient };
  /** Metrics, spans and log records (Application Insights when configured; otherwise no-op or injected). */
  telemetry: Telemetry;
  /** For tooling (resync's QIDO-RS walk): the DICOMweb HTTP client, authorised like the change-feed reads. */
  dicomHttp: AxiosInstance;
  /** For tooling (resync's resumable cursor): the checkpoint table. */
  checkpointTable: TableClient;
  /** DicomWeb:Source orthanc: its REST API (change log, id lookups) and the study ids remembered from it. */
  orthanc?: { client: OrthancClient; studyIds: OrthancStudyIds };
}

export interface CreateRuntimeOptions {
  /** Use this telemetry instead of the one the settings call for (the CLI passes noopTelemetry). */
  telemetry?: Telemetry;
}

export function mappingOptionsOf(config: AppConfig): MappingOptions {
  return {
    endpoint: config.dicomWeb.endpoint,
    patientSystemId: config.patient.patientSystemId,
    isIssuerIdUsed: config.patient.isIssuerIdUsed,
    defaultTimezoneOffset: config.dicomCast.defaultTimezoneOffset,
    enforceValidation: config.dicomCast.features.enforceValidation,
    generateObservations: config.dicomCast.features.generateObservations,
  };
}

export async function createRuntime(settings: FlatSettings, options: CreateRuntimeOptions = {}): Promise<Runtime> {
  const config = loadAppConfig(settings);
  const dicomAuthorization = createAuthorizationProvider(
    loadAuthConfig(settings, 'DicomWeb', config.dicomWeb.endpoint),
    config.dicomWeb.endpoint,
  );
  const fhirAuthorization = createAuthorizationProvider(
    loadAuthConfig(settings, 'Fhir', config.fhir.endpoint),
    config.fhir.endpoint,
  );
  const dicomHttp = createServerHttpClient({
    baseUrl: config.dicomWeb.endpoint,
    authorization: dicomAuthorization,
    timeoutMs: config.transport.requestTimeoutMs,
    maxResponseBytes: config.dicomWeb.maxResponseBytes,
    limitSettings: { timeout: 'DicomCast:RequestTimeoutSeconds', responseBytes: 'DicomWeb:MaxResponseBytes' },
  });
  const retry = { fallbackBudgetMs: config.transport.retryBudgetMs };
  const version = config.dicomWeb.changeFeed.version;
  // Telemetry (Azure Monitor's exporter is a large import) loads while the tables are created over the network.
  const [telemetry, checkpointTable, failureTable] = await Promise.all([
    options.telemetry ?? initTelemetry(settings),
    createTableClient(config.storage, config.dicomCast.checkpointTable),
    createTableClient(config.storage, config.dicomCast.failureTable),
  ]);
  const fhir = createFhirClient({
    baseUrl: config.fhir.endpoint,
    authorization: fhirAuthorization,
    requests: telemetry,
    limits: {
      requestTimeoutMs: config.transport.requestTimeoutMs,
      maxResponseBytes: config.fhir.maxResponseBytes,
      maxSearchPages: config.fhir.maxSearchPages,
      maxConcurrentWrites: config.fhir.maxConcurrentWrites,
      retryBudgetMs: config.transport.retryBudgetMs,
    },
  });
  return {
    config,
    mapping: mappingOptionsOf(config),
    changeFeed: createChangeFeedClient(dicomHttp, version, telemetry, retry),
    studyReader: createStudyReader(dicomHttp, dicomWebApiVersionOf(config), telemetry, {
      retry,
      maxMetadataBytes: config.dicomWeb.maxMetadataBytes,
    }),
    fhir,
    fhirPages: fhir,
    checkpoints: createCheckpointStore(checkpointTable, { endpoint: config.dicomWeb.endpoint }),
    failures: countedFailures(createFailureStore(failureTable), telemetry),
    tagWarnings: createTagWarningStore(failureTable),
    studyQueue: createStorageQueue(config.storage, studyQueueName),
    continuationQueue: createStorageQueue(config.storage, pollContinuationQueueName),
    queueClients: {
      studies: createQueueClient(config.storage, studyQueueName),
      poison: createQueueClient(config.storage, studyPoisonQueueName),
      continuation: createQueueClient(config.storage, pollContinuationQueueName),
    },
    telemetry,
    dicomHttp,
    checkpointTable,
    ...(config.dicomWeb.orthanc
      ? {
          orthanc: {
            client: createOrthancClient(
              createServerHttpClient({ baseUrl: config.dicomWeb.orthanc.endpoint, authorization: dicomAuthorization }),
            ),
            studyIds: createOrthancStudyIds(checkpointTable, config.dicomWeb.endpoint),
          },
        }
      : {}),
  };
}

let current: Promise<Runtime> | undefined;

/**
 * The runtime of this worker, from its settings as loadSettings reads them: app settings (the environment;
 * local.settings.json under `func start`), then the Key Vault secrets when `KeyVault:Endpoint` is set.
 * Settings still holding an unresolved `@Microsoft.KeyVault(...)` reference fail here, naming the setting.
 * Built once; a failed build is not cached, so a fixed setting or a vault that is reachable again is picked up.
 */
export function getRuntime(): Promise<Runtime> {
  current ??= loadSettings()
    .then(({ settings }) => {
      assertNoUnresolvedReferences(settings);
      return createRuntime(settings);
    })
    .catch((error: unknown) => {
      current = undefined;
      throw error;
    });
  return current;
}

/** Drops the cached runtime (tests and the local stack, which change settings between runs). */
export function resetRuntime(): void {
  current = undefined;
}
