import { encodeStowBody } from './dicom-server/index.js';
import { orthancInstalled, orthancInstallHint, startOrthanc, type RunningOrthanc } from './orthanc.js';
import { makeInstanceFile, makeSampleStudies, type SampleStudiesOptions } from './samples/index.js';
import { getString, Tag, type DicomJsonDataset } from '../shared/dicomweb/dicomJson.js';

/**
 * `npm run local -- --dicom orthanc`: the local stack on a real Orthanc (Debian's orthanc + orthanc-dicomweb) with
 * HTTP Basic on, instead of the Azure DICOM service stand-in.
 */
export interface LocalOrthanc {
  orthanc: RunningOrthanc;
  /** App settings that point the app at it (source, endpoint, Basic authentication). */
  settings: Record<string, string>;
}

export async function startLocalOrthanc(): Promise<LocalOrthanc> {
  if (!orthancInstalled()) {
    throw new Error(`--dicom orthanc needs Orthanc and its DICOMweb plugin: ${orthancInstallHint}`);
  }
  const orthanc = await startOrthanc({ username: 'dicomcast' });
  return {
    orthanc,
    settings: {
      DicomWeb__Endpoint: orthanc.dicomWebUrl,
      DicomWeb__Source: 'orthanc',
      DicomWeb__Authentication__Enabled: 'true',
      DicomWeb__Authentication__AuthenticationType: 'Basic',
      DicomWeb__Authentication__Basic__Username: orthanc.username,
      DicomWeb__Authentication__Basic__Password: orthanc.password,
    },
  };
}

/** STOW-RS to Orthanc's DICOMweb root as its registered user. */
export async function stowToOrthanc(orthanc: RunningOrthanc, files: readonly Uint8Array[]): Promise<void> {
  const { body, contentType } = encodeStowBody(files);
  const response = await fetch(`${orthanc.dicomWebUrl}/studies`, {
    method: 'POST',
    body,
    headers: { Authorization: orthanc.authorization, 'Content-Type': contentType, Accept: 'application/dicom+json' },
  });
  if (response.status !== 200)
    throw new Error(`STOW-RS to Orthanc answered ${response.status}: ${await response.text()}`);
}

export async function storeSamplesInOrthanc(orthanc: RunningOrthanc, options: SampleStudiesOptions): Promise<number> {
  const specs = makeSampleStudies(options);
  for (let start = 0; start < specs.length; start += 50) {
    await stowToOrthanc(orthanc, specs.slice(start, start + 50).map(makeInstanceFile));
  }
  return specs.length;
}

/** Every Study Instance UID Orthanc holds (QIDO-RS). */
export async function orthancStudyUids(orthanc: RunningOrthanc): Promise<string[]> {
  const response = await fetch(`${orthanc.dicomWebUrl}/studies?includefield=StudyInstanceUID`, {
    headers: { Authorization: orthanc.authorization, Accept: 'application/dicom+json' },
  });
  if (response.status !== 200) return [];
  const studies = (await response.json()) as DicomJsonDataset[];
  return studies.map((study) => getString(study, Tag.StudyInstanceUID)).filter((uid): uid is string => !!uid);
}
