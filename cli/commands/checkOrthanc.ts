/**
 * The Orthanc part of `dicom-cast check` (DicomWeb:Source orthanc): the REST API (`/system`, `/changes`) and a
 * QIDO-RS query on its DICOMweb root, each one line; and the one-line diagnoses of HTTP Basic. check.ts calls these.
 */
import type { AxiosInstance } from 'axios';
import type { BasicAuthConfig } from '../../shared/auth/index.js';
import { loadAppConfig } from '../../shared/config/appConfig.js';
import { readSetting, type FlatSettings } from '../../shared/config/settingsSource.js';
import { isPlainObject } from '../../shared/lib/isPlainObject.js';

type Answer = { status: number; data: unknown; headers: Record<string, unknown> };
/** check.ts's `call`: sends, reports one line, and says whether it passed. */
export type CheckCall = (
  send: () => Promise<Answer>,
  what: { path: string; accept: (body: unknown) => string },
) => Promise<'passed' | 'failed' | 'unreachable'>;

/** Thrown by an `accept` check: check.ts reports it as a failed answer. */
export class OrthancAnswerProblem extends Error {}

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

export function describeBasicAuth(config: BasicAuthConfig): string {
  return `Basic, user ${config.username} (password from ${config.server}:Authentication:Basic:Password)`;
}

export function basicRefusedCause(config: BasicAuthConfig): string {
  return (
    `HTTP 401: the server refused user ${config.username} and its password (${config.server}:Authentication:Basic); ` +
    'for Orthanc they must be one of its RegisteredUsers, with AuthenticationEnabled true'
  );
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
        throw new OrthancAnswerProblem(
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
        throw new OrthancAnswerProblem('no change log there: DicomWeb:Orthanc:Endpoint must be the REST API root');
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
          throw new OrthancAnswerProblem(
            'not a QIDO-RS answer: DicomWeb:Endpoint must be the DICOMweb root (e.g. .../dicom-web) and the plugin on',
          );
        }
        return 'QIDO-RS answered';
      },
    },
  );
}
