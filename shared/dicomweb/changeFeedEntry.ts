import type { DicomJsonDataset } from './dicomJson.js';

export type ChangeFeedAction = 'create' | 'update' | 'delete';
/** The instance's state *now*, not at the time of the event. */
export type ChangeFeedState = 'current' | 'replaced' | 'deleted';

/** One row of the Azure DICOM service change feed, normalised (camelCase names, lower-case enums). */
export interface ChangeFeedEntry {
  sequence: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  action: ChangeFeedAction;
  state: ChangeFeedState;
  timestamp: string;
  partitionName?: string;
  filePath?: string;
  /** DICOM JSON of the instance's current version; absent when the instance is deleted. */
  metadata?: DicomJsonDataset;
}
