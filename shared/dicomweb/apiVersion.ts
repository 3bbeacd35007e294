import type { AppConfig } from '../config/appConfig.js';

/**
 * The path segment DICOMweb requests start with: the Azure DICOM service versions its API (`v1/studies`,
 * `v2/studies`); Orthanc's plugin serves DICOMweb at the root it is configured with, which DicomWeb:Endpoint names.
 */
export type DicomWebApiVersion = 'v1' | 'v2' | '';

export function dicomWebApiVersionOf(config: Pick<AppConfig, 'dicomWeb'>): DicomWebApiVersion {
  return config.dicomWeb.source === 'orthanc' ? '' : config.dicomWeb.changeFeed.version;
}

/** `v2` + `studies` → `v2/studies`; no version → `studies`. */
export function dicomWebPath(version: DicomWebApiVersion, path: string): string {
  return version ? `${version}/${path}` : path;
}
