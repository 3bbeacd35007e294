import type { AxiosInstance } from 'axios';
import type { BadSourceRow } from '../changes/changeSource.js';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { isPlainObject } from '../lib/isPlainObject.js';

/** One row of Orthanc's change log (`GET /changes`). */
export interface OrthancChange {
  seq: number;
  changeType: string;
  resourceType: string;
  /** Orthanc's own id of the resource (a hash), not a DICOM UID. */
  id: string;
  /** UTC, `YYYYMMDDTHHMMSS`, as Orthanc writes it. */
  date?: string;
}

export interface OrthancChangesPage {
  changes: OrthancChange[];
  /** Rows not shaped like a change (Seq, ChangeType, ResourceType, ID): recorded by the poller, never resolved. */
  malformed?: BadSourceRow[];
  /** True at the end of the log. */
  done: boolean;
  /** Seq of the last row returned, or the log's last Seq when the page is empty (so it can go down: a wipe). */
  last: number;
}

/** A study as Orthanc names it: its id and its Study Instance UID. */
export interface OrthancStudyRef {
  id: string;
  studyUid: string;
}

/** The parts of Orthanc's REST API the change source and `check` use. */
export interface OrthancClient {
  /** Rows with Seq > since, at most `limit` (>= 1: `limit=0` answers no rows and a misleading Last). */
  changes(since: number, limit: number): Promise<OrthancChangesPage>;
  /** The newest row, or undefined when the log is empty. */
  lastChange(): Promise<OrthancChange | undefined>;
  /** The studies a resource belongs to (a patient has several); `gone` when Orthanc no longer has it (404). */
  studiesOf(resourceType: string, id: string): Promise<OrthancStudyRef[] | 'gone'>;
}

function failure(path: string, status: number): Error {
  const message = `Orthanc GET ${path} answered HTTP ${status}`;
  if (status >= 500 || status === 429 || status === 408 || status === 401) {
    return new RetryableError(message, 'transient');
  }
  return new NonRetryableError(message, 'configuration');
}

function toChange(raw: unknown): OrthancChange | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { Seq, ChangeType, ResourceType, ID, Date: date } = raw;
  if (typeof Seq !== 'number' || !Number.isSafeInteger(Seq) || typeof ChangeType !== 'string') return undefined;
  if (typeof ResourceType !== 'string' || typeof ID !== 'string') return undefined;
  return {
    seq: Seq,
    changeType: ChangeType,
    resourceType: ResourceType,
    id: ID,
    ...(typeof date === 'string' ? { date } : {}),
  };
}

function toStudyRef(raw: unknown): OrthancStudyRef | undefined {
  if (!isPlainObject(raw) || typeof raw.ID !== 'string' || !isPlainObject(raw.MainDicomTags)) return undefined;
  const uid = raw.MainDicomTags.StudyInstanceUID;
  return typeof uid === 'string' && uid.trim() !== '' ? { id: raw.ID, studyUid: uid.trim() } : undefined;
}

/** Orthanc's `YYYYMMDDTHHMMSS` (UTC, no zone marker) → ISO 8601. */
export function orthancDateToIso(date: string | undefined): string | undefined {
  const match = date ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(date) : null;
  return match ? `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z` : undefined;
}

/** `http` has Orthanc's REST API root as its base URL and adds its authentication. */
export function createOrthancClient(http: AxiosInstance): OrthancClient {
  const getJson = async (path: string, params?: Record<string, string | number>) => {
    const response = await http.get<unknown>(path, { responseType: 'json', ...(params ? { params } : {}) });
    return { status: response.status, body: response.data };
  };

  const parsePage = (path: string, body: unknown): OrthancChangesPage => {
    if (!isPlainObject(body) || !Array.isArray(body.Changes) || typeof body.Last !== 'number') {
      throw new NonRetryableError(`Orthanc GET ${path} did not return a change log page`, 'configuration');
    }
    // A row that is not shaped like a change names no resource we could resolve: it is handed on to be recorded.
    const changes: OrthancChange[] = [];
    const malformed: BadSourceRow[] = [];
    for (const raw of body.Changes) {
      const change = toChange(raw);
      if (change) {
        changes.push(change);
        continue;
      }
      const seq = isPlainObject(raw) ? raw.Seq : undefined;
      malformed.push({
        ...(typeof seq === 'number' && Number.isSafeInteger(seq) ? { sequence: seq } : {}),
        reason: `Orthanc GET ${path}: a row is not a change (it needs a whole-number Seq and ChangeType, ResourceType and ID strings)`,
        raw,
      });
    }
    return { changes, ...(malformed.length > 0 ? { malformed } : {}), done: body.Done === true, last: body.Last };
  };

  return {
    async changes(since, limit) {
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new Error(`Orthanc /changes limit must be >= 1, not ${limit}`);
      const { status, body } = await getJson('changes', { since, limit });
      if (status !== 200) throw failure('/changes', status);
      return parsePage('/changes', body);
    },

    async lastChange() {
      const { status, body } = await getJson('changes', { last: '' });
      if (status !== 200) throw failure('/changes?last', status);
      const page = parsePage('/changes?last', body);
      return page.changes.at(-1);
    },

    async studiesOf(resourceType, id) {
      const encoded = encodeURIComponent(id);
      const path =
        resourceType === 'Study'
          ? `studies/${encoded}`
          : resourceType === 'Series'
            ? `series/${encoded}/study`
            : resourceType === 'Instance'
              ? `instances/${encoded}/study`
              : resourceType === 'Patient'
                ? `patients/${encoded}/studies`
                : undefined;
      if (!path) return [];
      const { status, body } = await getJson(path);
      if (status === 404) return 'gone';
      if (status !== 200) throw failure(`/${path}`, status);
      const studies = (Array.isArray(body) ? body : [body]).map(toStudyRef);
      return studies.filter((study): study is OrthancStudyRef => study !== undefined);
    },
  };
}
