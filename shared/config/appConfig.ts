import { z } from 'zod';
import { ConfigurationError } from '../errors/errors.js';
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

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\./.test(hostname);
}

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
    if (url.protocol === 'http:' && isLoopback(url.hostname)) return;
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
  storageConnection: {
    path: 'AzureWebJobsStorage',
    description:
      'Storage for the queue, the checkpoint and failure tables (a connection string, or identity-based AzureWebJobsStorage__accountName).',
    example: 'UseDevelopmentStorage=true',
  },
} satisfies Record<string, SettingDefinition>;

export type SettingKey = keyof typeof settingDefinitions;

export interface AppConfig {
  dicomWeb: { endpoint: string; changeFeed: { version: 'v1' | 'v2'; pageSize: number } };
  fhir: { endpoint: string; maxBundleEntries: number };
  patient: { patientSystemId: string; isIssuerIdUsed: boolean };
  dicomCast: {
    schedule: string;
    checkpointTable: string;
    failureTable: string;
    maxPollSeconds: number;
    defaultTimezoneOffset: string;
    features: { enforceValidation: boolean; generateObservations: boolean };
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
  return {
    dicomWeb: {
      endpoint: parseSetting(settings, 'dicomEndpoint', serverUrl),
      changeFeed: {
        version,
        pageSize: parseSetting(settings, 'changeFeedPageSize', intInRange(1, version === 'v1' ? 100 : 200)),
      },
    },
    fhir: {
      endpoint: parseSetting(settings, 'fhirEndpoint', serverUrl),
      // 4: the fenced Bundle's Endpoint, Patient and ImagingStudy, and room for one more entry.
      maxBundleEntries: parseSetting(settings, 'fhirMaxBundleEntries', intInRange(4, 100000)),
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
    },
    storage: parseStorage(settings),
  };
}
