/** Values given on the command line, checked; a bad one is a `UsageError` that names the option. */
import { errorMessage } from '../shared/lib/errorDetails.js';
import { dicomDateOf } from '../shared/ops/resync.js';
import { UsageError } from './commandLine.js';

/** An ISO date or date-time. */
export function parseDateOption(name: string, text: string): Date {
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(time)) {
    throw new UsageError(`--${name} must be an ISO date or date-time (e.g. 2024-03-01 or 2024-03-01T12:00:00Z)`);
  }
  return new Date(time);
}

/** A whole number from 1 to `max`; `fallback` when the option is absent. */
export function parsePositiveInt(name: string, text: string | undefined, fallback: number, max?: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${name} must be a positive whole number`);
  if (max !== undefined && Number(text) > max) throw new UsageError(`--${name} must be ${max} or less`);
  return Number(text);
}

/** A date as `YYYY-MM-DD` (or DICOM's `YYYYMMDD`), as the DICOM date StudyDate is compared with. */
export function parseStudyDateOption(text: string): string {
  try {
    return dicomDateOf(text);
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}
