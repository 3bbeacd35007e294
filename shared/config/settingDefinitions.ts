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
