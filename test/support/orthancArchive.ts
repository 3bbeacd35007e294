import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CurrentInstance } from '../../dev/dicom-server/index.js';
import { orthancInstalled, orthancInstallHint, type RunningOrthanc } from '../../dev/orthanc.js';
import { getString, Tag, type DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';

/** Debian's python3-pydicom test data (real files from many vendors). */
export const pydicomTestFiles =
  process.env.PYDICOM_TEST_FILES ?? '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** Skip reason outside CI when Orthanc or pydicom's files are missing; in CI (CI=true) the tests fail instead. */
export function orthancSkipReason(): string | false {
  if (process.env.CI === 'true') return false;
  if (!orthancInstalled()) return `Orthanc is not installed (${orthancInstallHint})`;
  if (!existsSync(pydicomTestFiles)) return `${pydicomTestFiles} is absent (apt-get install -y python3-pydicom)`;
  return false;
}

export function pydicomFile(name: string): Buffer {
  return readFileSync(join(pydicomTestFiles, name));
}

/** REST calls to Orthanc as its registered user; JSON in and out. */
export async function orthancRest(
  orthanc: RunningOrthanc,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; bytes: Buffer }> {
  const response = await fetch(`${orthanc.url}${path}`, {
    method,
    headers: {
      Authorization: orthanc.authorization,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.status, json, bytes };
}

export { stowToOrthanc } from '../../dev/localOrthanc.js';

async function dicomWebJson(orthanc: RunningOrthanc, path: string): Promise<DicomJsonDataset[]> {
  const response = await fetch(`${orthanc.dicomWebUrl}/${path}`, {
    headers: { Authorization: orthanc.authorization, Accept: 'application/dicom+json' },
  });
  if (response.status === 204) return [];
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
  const text = await response.text();
  return text.trim() === '' ? [] : (JSON.parse(text) as DicomJsonDataset[]);
}

/** Everything Orthanc holds now, read over DICOMweb (QIDO-RS, then each study's metadata). */
export async function orthancInstances(orthanc: RunningOrthanc): Promise<CurrentInstance[]> {
  const studies = await dicomWebJson(orthanc, 'studies?includefield=StudyInstanceUID');
  const instances: CurrentInstance[] = [];
  for (const study of studies) {
    const uid = getString(study, Tag.StudyInstanceUID)!;
    for (const dataset of await dicomWebJson(orthanc, `studies/${uid}/metadata`)) {
      instances.push({
        partition: '',
        study: uid,
        series: getString(dataset, Tag.SeriesInstanceUID)!,
        sop: getString(dataset, Tag.SOPInstanceUID)!,
        dataset,
      });
    }
  }
  return instances;
}

/** Orthanc's id of a study, from its UID (`POST /tools/lookup`). */
export async function orthancIdOf(orthanc: RunningOrthanc, uid: string, type: 'Study' | 'Series' | 'Instance') {
  const response = await fetch(`${orthanc.url}/tools/lookup`, {
    method: 'POST',
    headers: { Authorization: orthanc.authorization },
    body: uid,
  });
  const found = (await response.json()) as { ID: string; Type: string }[];
  const match = found.find((entry) => entry.Type === type);
  if (!match) throw new Error(`Orthanc has no ${type} ${uid}`);
  return match.ID;
}
