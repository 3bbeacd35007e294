import type { IncomingMessage } from 'node:http';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import type { StoreOutcome } from './dicomService.js';
import { HttpError, readBody } from './httpReplies.js';
import { contentTypeParameter, mediaType, parseMultipart } from './multipart.js';

/** The Part-10 files of a STOW-RS request: one bare application/dicom body, or the parts of multipart/related. */
export async function readStowFiles(request: IncomingMessage): Promise<Buffer[]> {
  const type = mediaType(request.headers['content-type']);
  const body = await readBody(request);
  let files: Buffer[];
  if (type === 'application/dicom') {
    files = [body];
  } else if (type === 'multipart/related') {
    const boundary = contentTypeParameter(request.headers['content-type'] ?? '', 'boundary');
    if (!boundary) throw new HttpError(400, 'The multipart/related request has no boundary.');
    const partType = contentTypeParameter(request.headers['content-type'] ?? '', 'type');
    if (partType && partType.toLowerCase() !== 'application/dicom') {
      throw new HttpError(415, `Unsupported multipart type '${partType}'.`);
    }
    try {
      files = parseMultipart(body, boundary).map((part) => part.body);
    } catch (error) {
      throw new HttpError(400, error instanceof Error ? error.message : 'Malformed multipart body.');
    }
  } else {
    throw new HttpError(415, `Unsupported content type '${type}'.`);
  }
  if (files.length === 0) throw new HttpError(400, 'The request carries no DICOM instances.');
  return files;
}

/** The STOW-RS response dataset: the study's URL, the failed SOP sequence (with reasons) and the referenced one. */
export function stowResponse(outcome: StoreOutcome, root: string, study?: string): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  const studies = new Set(outcome.stored.map((ref) => ref.study));
  const onlyStudy = study ?? (studies.size === 1 ? [...studies][0] : undefined);
  if (onlyStudy) out['00081190'] = { vr: 'UR', Value: [`${root}/studies/${onlyStudy}`] };
  if (outcome.failed.length > 0) {
    out['00081198'] = {
      vr: 'SQ',
      Value: outcome.failed.map((failed) => ({
        ...sopReference(failed),
        '00081197': { vr: 'US', Value: [failed.reason] },
      })),
    };
  }
  if (outcome.stored.length > 0) {
    out['00081199'] = {
      vr: 'SQ',
      Value: outcome.stored.map((ref) => ({
        ...sopReference(ref),
        '00081190': {
          vr: 'UR',
          Value: [`${root}/studies/${ref.study}/series/${ref.series}/instances/${ref.sop}`],
        },
      })),
    };
  }
  return out;
}

/** Referenced SOP Class UID (0008,1150) and Referenced SOP Instance UID (0008,1155), empty where unknown. */
function sopReference(instance: { sopClass?: string | undefined; sop?: string | undefined }): DicomJsonDataset {
  return { '00081150': uidAttribute(instance.sopClass), '00081155': uidAttribute(instance.sop) };
}

function uidAttribute(uid: string | undefined) {
  return uid ? { vr: 'UI', Value: [uid] } : { vr: 'UI' };
}
