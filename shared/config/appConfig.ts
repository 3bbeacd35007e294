import { z } from 'zod';
import { ConfigurationError } from '../errors/errors.js';
import { assertResolved } from './keyVaultReference.js';
import { bool, intInRange, serverUrl, tableName, timezoneOffset } from './settingSchemas.js';
import { settingDefinitions, type SettingDefinition, type SettingKey } from './settingDefinitions.js';
import { readSetting, type FlatSettings } from './settingsSource.js';
import { parseStorage, type StorageConnection } from './storageConnection.js';

// The settings table (settingDefinitions.ts), the value schemas (settingSchemas.ts) and the storage connection
// (storageConnection.ts) have their own modules; this one turns flat settings into the typed AppConfig.

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
