import assert from 'node:assert/strict';
import { isBadRow, type ChangeFeedRow } from '../../shared/dicomweb/changeFeedRow.js';

/** A change-feed row as the DICOM service prints it (PascalCase): a current create; `overrides` replace or add fields. */
export const serviceRow = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  Sequence: 7,
  StudyInstanceUid: '1.2.3',
  SeriesInstanceUid: '1.2.3.4',
  SopInstanceUid: '1.2.3.4.5',
  Action: 'Create',
  State: 'Current',
  Timestamp: '2024-01-01T00:00:07.1234567+00:00',
  ...overrides,
});

/** What the parser makes of `serviceRow()`. */
export const parsedServiceRow = {
  sequence: 7,
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.3.4',
  sopInstanceUid: '1.2.3.4.5',
  action: 'create',
  state: 'current',
  timestamp: '2024-01-01T00:00:07.1234567+00:00',
};

/** `parsed`, asserted to be a bad row (so its reason can be read). */
export function expectBadRow(parsed: ChangeFeedRow) {
  assert.ok(isBadRow(parsed), `expected a bad row, got ${JSON.stringify(parsed)}`);
  return parsed;
}
