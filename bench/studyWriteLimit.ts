// The large study's physical limit, poll by poll: after each poll, the ImagingStudy the sync left in FHIR written
// straight into the same FHIR server, as the write the sync made costs that server, with no reads.
//
// Why this shape: an ImagingStudy is one FHIR resource, so any FHIR server takes the whole of it on every change
// (parse, validate, store ~150 bytes per instance). The sync creates the study at its first poll and updates it at
// every later one (a PUT with If-Match, alone in its transaction once the Patient and Endpoint exist). The limit
// does the same to an ImagingStudy of its own: a conditional create the first time, then a versioned update
// carrying the content the sync's study holds after that poll. Same server, same size, same interaction, one
// request, so the server's work of a poll is separated from what the sync adds (its DICOM and FHIR reads, the
// mapping, the queue). Its own identifier (system `urn:bench:limit`) keeps it apart from the study under test: the
// sync never finds it and checkFhirComplete does not count it. A copy of the study under test, written in place of
// that study, would instead race the sync's If-Match and change what the sync reads.
import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';
import { noAuthorization } from '../shared/auth/index.js';
import { conditionalCreate, transactionOf, versionedDelete, versionedUpdate } from '../shared/fhir/bundleEntries.js';
import { createFhirClient, type FhirClient } from '../shared/fhir/fhirClient.js';
import { writtenVersion } from '../shared/fhir/versions.js';
import { asNew } from './directWrite.js';

export const LIMIT_IDENTIFIER_SYSTEM = 'urn:bench:limit';

export interface StoredVersion {
  id: string;
  versionId: string;
}

/**
 * The transaction that brings the limit study to `study`'s content: a conditional create when it does not exist
 * yet (`current` undefined), else an update of `current` with If-Match. Its identifiers are the limit's own; a note
 * names the poll, so that no two writes are the same content even on a server that skips identical updates.
 */
export function limitTransaction(
  study: ImagingStudy,
  studyUid: string,
  poll: number,
  current: StoredVersion | undefined,
): Bundle {
  const { versionId: _v, lastUpdated: _l, ...meta } = study.meta ?? {};
  const identifier = { system: LIMIT_IDENTIFIER_SYSTEM, value: studyUid };
  const content: ImagingStudy = {
    ...asNew(study),
    ...(Object.keys(meta).length > 0 ? { meta } : {}),
    identifier: [identifier],
    note: [...(study.note ?? []), { text: `bench limit, poll ${poll}` }],
  };
  const entry = current
    ? versionedUpdate({ ...content, id: current.id, meta: { ...meta, versionId: current.versionId } })
    : conditionalCreate(content, `urn:uuid:${crypto.randomUUID()}`, {
        identifier: `${identifier.system}|${identifier.value}`,
      });
  return transactionOf([entry]);
}

/** The limit study of one large study: written once per poll, removed at the end. */
export class StudyWriteLimit {
  private readonly fhir: FhirClient;
  private current: StoredVersion | undefined;

  constructor(
    fhirUrl: string,
    private readonly studyUid: string,
  ) {
    this.fhir = createFhirClient({ baseUrl: fhirUrl, authorization: noAuthorization });
  }

  /** Built untimed: what `send` then writes. */
  transactionFor(study: ImagingStudy, poll: number): Bundle {
    return limitTransaction(study, this.studyUid, poll, this.current);
  }

  /** The timed part: one transaction. Throws unless the server stored a new version (else it was no write). */
  async send(bundle: Bundle, poll: number): Promise<void> {
    const response = await this.fhir.transaction(bundle);
    const written = writtenVersion(response.entry?.[0]?.response, 'ImagingStudy');
    const previous = this.current;
    if (!written || (previous && written.id === previous.id && written.versionId === previous.versionId)) {
      throw new Error(
        `bench limit, poll ${poll}: the FHIR server stored no new version of the limit ImagingStudy ` +
          `(${response.entry?.[0]?.response?.status ?? 'no status'}, ${response.entry?.[0]?.response?.location ?? 'no location'})`,
      );
    }
    if (previous && written.id !== previous.id) {
      throw new Error(`bench limit, poll ${poll}: the update wrote ImagingStudy/${written.id}, not ${previous.id}`);
    }
    this.current = written;
  }

  /** Deletes the limit study (untimed), if it was written. */
  async remove(): Promise<void> {
    const current = this.current;
    if (!current) return;
    const { id, versionId } = current;
    await this.fhir.transaction(
      transactionOf([versionedDelete({ resourceType: 'ImagingStudy', id, meta: { versionId } } as ImagingStudy)]),
    );
    this.current = undefined;
  }
}
