import { NonRetryableError, RetryableError, type ErrorLocation } from '../errors/errors.js';

/**
 * An exception the mapping did not mean to throw (a TypeError from data of a shape nobody foresaw) comes from the
 * data, not from the network: retrying it five times cannot help. It becomes bad data at its location, recorded
 * and not retried; errors that already say what they are pass through unchanged.
 */
export function asBadData(error: unknown, location: ErrorLocation, doing = 'Mapping'): unknown {
  if (error instanceof NonRetryableError || error instanceof RetryableError) return error;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new NonRetryableError(
    `${doing} failed on unexpected data (${what.slice(0, 300)})`,
    'bad-dicom-data',
    location,
    {
      cause: error,
    },
  );
}

/** Runs pure mapping code; an exception it did not mean to throw is bad data of the study, not a transient fault. */
export function mapped<T>(study: string, map: () => T): T {
  try {
    return map();
  } catch (error) {
    throw asBadData(error, { study });
  }
}
