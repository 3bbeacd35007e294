import { startAzurite, type RunningAzurite } from './azurite.js';
import { startDicomServer, type DicomServerOptions, type RunningDicomServer } from './dicom-server/index.js';
import {
  startFhirServer,
  type FhirProfileName,
  type FhirServerOptions,
  type RunningFhirServer,
} from './fhir-server/index.js';
import type { FlatSettings } from '../shared/config/settingsSource.js';

export interface LocalStackOptions {
  /** Use this DICOMweb server instead of the embedded stand-in. */
  dicomUrl?: string;
  /** Use this FHIR server instead of the embedded one. */
  fhirUrl?: string;
  /** Use this storage instead of an embedded Azurite. */
  storageConnectionString?: string;
  dicomPort?: number;
  fhirPort?: number;
  dicomOptions?: DicomServerOptions;
  /** Which real FHIR server the embedded one behaves like: medplum (default), azure or hapi. */
  fhirProfile?: FhirProfileName;
  /** Further options of the embedded FHIR server (traffic: throttling and fault rates; storage latency). */
  fhirOptions?: Omit<FhirServerOptions, 'port' | 'profile'>;
  /** Settings on top of the stack's own (e.g. DicomWeb__ChangeFeed__Version). */
  settings?: FlatSettings;
}

/** Azurite, the DICOM service stand-in and the FHIR server on loopback, plus the settings that point at them. */
export interface LocalStack {
  dicomUrl: string;
  fhirUrl: string;
  storageConnectionString: string;
  dicom?: RunningDicomServer;
  fhir?: RunningFhirServer;
  azurite?: RunningAzurite;
  settings: FlatSettings;
  close(): Promise<void>;
}

async function withPortFallback<T>(start: (port: number) => Promise<T>, port: number | undefined): Promise<T> {
  if (port === undefined || port === 0) return start(0);
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return start(0);
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    let azurite: RunningAzurite | undefined;
    let storageConnectionString = options.storageConnectionString;
    if (!storageConnectionString) {
      azurite = await startAzurite();
      closers.push(() => azurite?.close() ?? Promise.resolve());
      storageConnectionString = azurite.connectionString;
    }
    let dicom: RunningDicomServer | undefined;
    if (!options.dicomUrl) {
      dicom = await withPortFallback(
        (port) => startDicomServer({ ...options.dicomOptions, port }),
        options.dicomPort ?? options.dicomOptions?.port,
      );
      closers.push(() => dicom?.close() ?? Promise.resolve());
    }
    let fhir: RunningFhirServer | undefined;
    if (!options.fhirUrl) {
      fhir = await withPortFallback(
        (port) => startFhirServer({ ...options.fhirOptions, port, profile: options.fhirProfile ?? 'medplum' }),
        options.fhirPort,
      );
      closers.push(() => fhir?.close() ?? Promise.resolve());
    }
    const dicomUrl = options.dicomUrl ?? (dicom as RunningDicomServer).url;
    const fhirUrl = options.fhirUrl ?? (fhir as RunningFhirServer).url;
    const settings: FlatSettings = {
      AzureWebJobsStorage: storageConnectionString,
      DicomWeb__Endpoint: dicomUrl,
      Fhir__Endpoint: fhirUrl,
      DicomCast__Schedule: '*/5 * * * * *',
      ...options.settings,
    };
    return {
      dicomUrl,
      fhirUrl,
      storageConnectionString,
      ...(dicom ? { dicom } : {}),
      ...(fhir ? { fhir } : {}),
      ...(azurite ? { azurite } : {}),
      settings,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
