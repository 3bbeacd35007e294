import { z } from 'zod';
import { ConfigurationError } from '../errors/errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import { assertResolved } from './keyVaultReference.js';
import { readSetting, type FlatSettings } from './settingsSource.js';

/**
 * Every setting the app reads: its path (as DICOM Cast named it), its default and its validation.
 * The table is the single source of truth for loading, documentation and the infra cross-check.
 */
export interface SettingDefinition {
  path: string;
  description: string;
  default?: string;
  example?: string;
  secret?: boolean;
}

const bool = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0' || lower === '') return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const intInRange = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** An http(s) URL; plain http only for loopback, so a credential never travels in clear text. */
export const serverUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not contain a user name or password' });
      return;
    }
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
    ctx.addIssue({ code: 'custom', message: 'must use https (plain http is accepted only for loopback addresses)' });
  })
  .transform((value) => value.replace(/\/+$/, ''));

const timezoneOffset = z
  .string()
  .trim()
  .regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, 'must look like +00:00 or -05:00');

const tableName = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid Azure Table name');

export const settingDefinitions = {
  dicomEndpoint: {
    path: 'DicomWeb:Endpoint',
    description: 'Base URL of the DICOMweb server (the Azure DICOM service URL, without /v1 or /v2).',
    example: 'https://myworkspace-mydicom.dicom.azurehealthcareapis.com',
  },
  dicomSource: {
    path: 'DicomWeb:Source',
    description:
      "Where changes come from: azure (the Azure DICOM service change feed) or orthanc (Orthanc's /changes log; DicomWeb:Endpoint is then its DICOMweb root, e.g. https://pacs.example.org/dicom-web).",
    default: 'azure',
  },
  orthancEndpoint: {
    path: 'DicomWeb:Orthanc:Endpoint',
    description:
      'Orthanc only: base URL of its REST API (/changes, /studies/{id}); empty means DicomWeb:Endpoint without its last path segment (/dicom-web).',
    default: '',
  },
  changeFeedVersion: {
    path: 'DicomWeb:ChangeFeed:Version',
    description: 'Change feed API: v2 (time window + row offset) or v1 (sequence window).',
    default: 'v2',
  },
  changeFeedPageSize: {
    path: 'DicomWeb:ChangeFeed:PageSize',
    description: 'Entries asked for per change-feed request (v2: 1-200, v1: 1-100).',
    default: '100',
  },
  fhirEndpoint: {
    path: 'Fhir:Endpoint',
    description: 'Base URL of the FHIR R4 server.',
    example: 'https://myworkspace-myfhir.fhir.azurehealthcareapis.com',
  },
  fhirMaxBundleEntries: {
    path: 'Fhir:MaxBundleEntries',
    description:
      'Most entries the FHIR server takes in one Bundle (AHDS: 500); larger writes are split, the fenced part last.',
    default: '500',
  },
  patientSystemId: {
    path: 'Patient:PatientSystemId',
    description: 'System of the Patient identifier holding PatientID (0010,0020).',
    default: '',
  },
  isIssuerIdUsed: {
    path: 'Patient:IsIssuerIdUsed',
    description: 'Use IssuerOfPatientID (0010,0021) as the Patient identifier system instead of PatientSystemId.',
    default: 'false',
  },
  schedule: {
    path: 'DicomCast:Schedule',
    description: 'NCRONTAB schedule of the change-feed poller (read by the timer binding as %DicomCast__Schedule%).',
    default: '*/10 * * * * *',
  },
  driftSweepSchedule: {
    path: 'DicomCast:DriftSweep:Schedule',
    description:
      'NCRONTAB schedule of the drift sweep (read by the timer binding as %DicomCast__DriftSweep__Schedule%).',
    default: '0 0 * * * *',
  },
  driftSweepEnabled: {
    path: 'DicomCast:DriftSweep:Enabled',
    description:
      'Run the drift sweep on its schedule; empty means on for DicomWeb:Source orthanc (its log never records deletions) and off for azure.',
    default: '',
  },
  driftSweepMaxPages: {
    path: 'DicomCast:DriftSweep:MaxPages',
    description: 'Pages (archive and FHIR together) one sweep run reads at most; the next run resumes from its cursor.',
    default: '100',
  },
  driftSweepMaxSeconds: {
    path: 'DicomCast:DriftSweep:MaxSeconds',
    description: 'Time budget of one sweep run; the next run resumes from its cursor.',
    default: '120',
  },
  driftSweepPageSize: {
    path: 'DicomCast:DriftSweep:PageSize',
    description: 'Studies per QIDO-RS and per FHIR search page in the drift sweep (1-200).',
    default: '100',
  },
  checkpointTable: {
    path: 'DicomCast:CheckpointTable',
    description: 'Table holding the change-feed checkpoint.',
    default: 'DicomCastCheckpoints',
  },
  failureTable: {
    path: 'DicomCast:FailureTable',
    description: 'Table holding failure records (bad data, exhausted retries).',
    default: 'DicomCastFailures',
  },
  maxPollSeconds: {
    path: 'DicomCast:MaxPollSeconds',
    description: 'Time budget of one poller run; keep it well under functionTimeout in host.json.',
    default: '240',
  },
  defaultTimezoneOffset: {
    path: 'DicomCast:DefaultTimezoneOffset',
    description: 'Offset assumed when TimezoneOffsetFromUTC (0008,0201) is absent.',
    default: '+00:00',
  },
  enforceValidation: {
    path: 'DicomCast:Features:EnforceValidationOfTagValues',
    description: 'When true an invalid mapped tag fails the instance instead of being skipped with a warning.',
    default: 'false',
  },
  generateObservations: {
    path: 'DicomCast:Features:GenerateObservations',
    description: 'Write radiation dose Observations from dose SR instances.',
    default: 'true',
  },
  retryBudgetSeconds: {
    path: 'DicomCast:RetryBudgetSeconds',
    description:
      'Time one invocation may spend waiting out transient FHIR and DICOM failures (429, 502-504, resets, timeouts) before leaving the message to the queue; 0-300.',
    default: '120',
  },
  requestTimeoutSeconds: {
    path: 'DicomCast:RequestTimeoutSeconds',
    description:
      'Total deadline of one FHIR or DICOM request, response body included; 1-120. A request that times out is retried once.',
    default: '30',
  },
  dicomMaxMetadataBytes: {
    path: 'DicomWeb:MaxMetadataBytes',
    description: 'Largest study metadata response read; a bigger study becomes a failure record naming this setting.',
    default: '67108864',
  },
  dicomMaxResponseBytes: {
    path: 'DicomWeb:MaxResponseBytes',
    description: 'Largest other DICOMweb response read (change-feed pages, QIDO-RS).',
    default: '16777216',
  },
  fhirMaxResponseBytes: {
    path: 'Fhir:MaxResponseBytes',
    description: 'Largest FHIR response read (a search page, a transaction response).',
    default: '33554432',
  },
  fhirMaxSearchPages: {
    path: 'Fhir:MaxSearchPages',
    description: 'Pages one FHIR search may follow; more (or a next link repeating a page) is an error.',
    default: '100',
  },
  fhirMaxConcurrentWrites: {
    path: 'Fhir:MaxConcurrentWrites',
    description:
      'Most FHIR transactions one worker sends at once; halved while the server throttles (429/503), grown back on success.',
    default: '16',
  },
  storageConnection: {
    path: 'AzureWebJobsStorage',
    description:
      'Storage for the queue, the checkpoint and failure tables (a connection string, or identity-based AzureWebJobsStorage__accountName).',
    example: 'UseDevelopmentStorage=true',
  },
} satisfies Record<string, SettingDefinition>;

export type SettingKey = keyof typeof settingDefinitions;

export type DicomSource = 'azure' | 'orthanc';

export interface DriftSweepConfig {
  enabled: boolean;
  maxPages: number;
  maxSeconds: number;
  pageSize: number;
}

export interface AppConfig {
  dicomWeb: {
    endpoint: string;
    source: DicomSource;
    /** Orthanc only: its REST API root (the change log and id lookups live there, not under DICOMweb). */
    orthanc?: { endpoint: string };
    changeFeed: { version: 'v1' | 'v2'; pageSize: number };
    maxMetadataBytes: number;
    maxResponseBytes: number;
  };
  fhir: {
    endpoint: string;
    maxResponseBytes: number;
    maxSearchPages: number;
    maxConcurrentWrites: number;
    maxBundleEntries: number;
  };
  /** Retries and deadlines of every FHIR and DICOM request. */
  transport: { retryBudgetMs: number; requestTimeoutMs: number };
  patient: { patientSystemId: string; isIssuerIdUsed: boolean };
  dicomCast: {
    schedule: string;
    checkpointTable: string;
    failureTable: string;
    maxPollSeconds: number;
    defaultTimezoneOffset: string;
    features: { enforceValidation: boolean; generateObservations: boolean };
    driftSweep: DriftSweepConfig;
  };
  storage: StorageConnection;
}

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; tableServiceUri: string; clientId?: string };

function parseSetting<T>(settings: FlatSettings, key: SettingKey, schema: z.ZodType<T, string>): T {
  const definition: SettingDefinition = settingDefinitions[key];
  const raw = readSetting(settings, definition.path.split(':')) ?? definition.default;
  assertResolved(definition.path, raw);
  if (raw === undefined) {
    throw new ConfigurationError(
      `Missing required setting ${definition.path}: ${definition.description}`,
      definition.path,
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const reason = result.error.issues.map((issue) => issue.message).join('; ');
    // The value itself is never echoed: it may be a secret pasted into the wrong setting.
    throw new ConfigurationError(`Invalid setting ${definition.path}: ${reason}`, definition.path);
  }
  return result.data;
}

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

/** `https://pacs/orthanc/dicom-web` → `https://pacs/orthanc`: Orthanc's REST API sits above its DICOMweb root. */
function parentUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = parsed.pathname.replace(/\/[^/]*\/?$/, '') || '/';
  return parsed.toString().replace(/\/+$/, '');
}

/** Validates the whole configuration once; throws a ConfigurationError naming the first bad setting. */
export function loadAppConfig(settings: FlatSettings): AppConfig {
  const version = parseSetting(
    settings,
    'changeFeedVersion',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['v1', 'v2'])),
  );
  const endpoint = parseSetting(settings, 'dicomEndpoint', serverUrl);
  const source = parseSetting(
    settings,
    'dicomSource',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['azure', 'orthanc'])),
  );
  const orthancEndpoint = parseSetting(settings, 'orthancEndpoint', z.union([z.literal(''), serverUrl]));
  const sweepEnabled = parseSetting(settings, 'driftSweepEnabled', z.union([z.literal(''), bool]));
  return {
    dicomWeb: {
      endpoint,
      source,
      ...(source === 'orthanc' ? { orthanc: { endpoint: orthancEndpoint || parentUrl(endpoint) } } : {}),
      changeFeed: {
        version,
        pageSize: parseSetting(settings, 'changeFeedPageSize', intInRange(1, version === 'v1' ? 100 : 200)),
      },
      maxMetadataBytes: parseSetting(settings, 'dicomMaxMetadataBytes', intInRange(1024, 1024 ** 3)),
      maxResponseBytes: parseSetting(settings, 'dicomMaxResponseBytes', intInRange(1024, 1024 ** 3)),
    },
    fhir: {
      endpoint: parseSetting(settings, 'fhirEndpoint', serverUrl),
      maxResponseBytes: parseSetting(settings, 'fhirMaxResponseBytes', intInRange(1024, 1024 ** 3)),
      maxSearchPages: parseSetting(settings, 'fhirMaxSearchPages', intInRange(1, 10_000)),
      maxConcurrentWrites: parseSetting(settings, 'fhirMaxConcurrentWrites', intInRange(1, 256)),
      // 4: the fenced Bundle's Endpoint, Patient and ImagingStudy, and room for one more entry.
      maxBundleEntries: parseSetting(settings, 'fhirMaxBundleEntries', intInRange(4, 100000)),
    },
    // Both bounded so that a budget plus a last request stays well under the 10-minute function timeout.
    transport: {
      retryBudgetMs: parseSetting(settings, 'retryBudgetSeconds', intInRange(0, 300)) * 1000,
      requestTimeoutMs: parseSetting(settings, 'requestTimeoutSeconds', intInRange(1, 120)) * 1000,
    },
    patient: {
      patientSystemId: parseSetting(settings, 'patientSystemId', z.string().trim()),
      isIssuerIdUsed: parseSetting(settings, 'isIssuerIdUsed', bool),
    },
    dicomCast: {
      schedule: parseSetting(settings, 'schedule', z.string().trim().min(1)),
      checkpointTable: parseSetting(settings, 'checkpointTable', tableName),
      failureTable: parseSetting(settings, 'failureTable', tableName),
      maxPollSeconds: parseSetting(settings, 'maxPollSeconds', intInRange(1, 3600)),
      defaultTimezoneOffset: parseSetting(settings, 'defaultTimezoneOffset', timezoneOffset),
      features: {
        enforceValidation: parseSetting(settings, 'enforceValidation', bool),
        generateObservations: parseSetting(settings, 'generateObservations', bool),
      },
      driftSweep: {
        enabled: sweepEnabled === '' ? source === 'orthanc' : sweepEnabled,
        maxPages: parseSetting(settings, 'driftSweepMaxPages', intInRange(1, 100_000)),
        maxSeconds: parseSetting(settings, 'driftSweepMaxSeconds', intInRange(1, 3600)),
        pageSize: parseSetting(settings, 'driftSweepPageSize', intInRange(1, 200)),
      },
    },
    storage: parseStorage(settings),
  };
}
