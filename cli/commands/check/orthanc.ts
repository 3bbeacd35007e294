/**
 * The Orthanc part of `dicom-cast check` (DicomWeb:Source orthanc): the REST API (`/system`, `/changes`) and a
 * QIDO-RS query on its DICOMweb root, each one line.
 */
import type { AxiosInstance } from 'axios';
import { loadAppConfig } from '../../../shared/config/appConfig.js';
import { readSetting, type FlatSettings } from '../../../shared/config/settingsSource.js';
import { isPlainObject } from '../../../shared/lib/isPlainObject.js';
import { UnacceptableAnswer, type CheckCall } from './call.js';

export function isOrthancSource(settings: FlatSettings): boolean {
  return readSetting(settings, ['DicomWeb', 'Source'])?.trim().toLowerCase() === 'orthanc';
}

/** The REST API root the app would use (DicomWeb:Orthanc:Endpoint, or the DICOMweb root's parent). */
export function orthancRestEndpoint(settings: FlatSettings, dicomWebEndpoint: string): string {
  try {
    return loadAppConfig(settings).dicomWeb.orthanc?.endpoint ?? dicomWebEndpoint;
  } catch {
    // The configuration check reports what is wrong; derive the parent here so the servers are still checked.
    const url = new URL(dicomWebEndpoint);
    url.pathname = url.pathname.replace(/\/[^/]*\/?$/, '') || '/';
    return url.toString().replace(/\/+$/, '');
  }
}

/** `/system`, `/changes?limit=1` on the REST API, then `studies?limit=1` on DICOMweb. */
export async function checkOrthanc(
  calls: { rest: CheckCall; dicomWeb: CheckCall },
  { rest, dicomWeb }: { rest: AxiosInstance; dicomWeb: AxiosInstance },
): Promise<void> {
  const system = await calls.rest(() => rest.get('system', { responseType: 'json' }), {
    path: 'system (Orthanc REST API)',
    accept: (body) => {
      if (!isPlainObject(body) || typeof body.Version !== 'string') {
        throw new UnacceptableAnswer(
          'not Orthanc: set DicomWeb:Orthanc:Endpoint to its REST API root (where /system answers)',
        );
      }
      const plugins = body.PluginsEnabled === false ? ', plugins disabled (DICOMweb needs them)' : '';
      return `Orthanc ${body.Version}, REST API ${typeof body.ApiVersion === 'number' ? body.ApiVersion : '?'}${plugins}`;
    },
  });
  if (system === 'unreachable') return;
  await calls.rest(() => rest.get('changes', { params: { since: 0, limit: 1 }, responseType: 'json' }), {
    path: 'changes?since=0&limit=1',
    accept: (body) => {
      if (!isPlainObject(body) || typeof body.Last !== 'number') {
        throw new UnacceptableAnswer('no change log there: DicomWeb:Orthanc:Endpoint must be the REST API root');
      }
      return `change log answered (Last ${body.Last})`;
    },
  });
  await calls.dicomWeb(
    () => dicomWeb.get('studies', { params: { limit: 1 }, headers: { Accept: 'application/dicom+json' } }),
    {
      path: 'studies?limit=1 (QIDO-RS)',
      accept: (body) => {
        if (body !== '' && !Array.isArray(body)) {
          throw new UnacceptableAnswer(
            'not a QIDO-RS answer: DicomWeb:Endpoint must be the DICOMweb root (e.g. .../dicom-web) and the plugin on',
          );
        }
        return 'QIDO-RS answered';
      },
    },
  );
}
