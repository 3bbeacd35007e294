import type { ChangeFeedAction, ChangeFeedState } from '../dicomweb/changeFeedEntry.js';

/** One changed instance of a study, as listed in a study message. */
export interface InstanceChange {
  series: string;
  sop: string;
  action: ChangeFeedAction;
  sequence: number;
  state: ChangeFeedState;
}

/**
 * What the poller tells the writer: "this study changed, here is what the feed said".
 * The writer re-reads the study's current state from the DICOM server; the changes are hints
 * (which instances to expect gone, which sequence is newest) and the audit trail for replay.
 */
export interface StudyMessage {
  study: string;
  partition?: string;
  changes: InstanceChange[];
  /** Highest change-feed sequence among `changes`, for correlation. */
  maxSequence: number;
  /**
   * Set when the study had more changes than one queue message holds: how many (older) changes were left out.
   * The writer reconciles the whole study from the DICOM server either way.
   */
  omittedChanges?: number;
  /**
   * With `omittedChanges`: every series the left-out changes name (unset when even that does not fit), so the writer
   * can still read only the series that changed (shared/sync/seriesReads.ts); unset, it reads the whole study.
   */
  omittedSeries?: string[];
  /** W3C trace context of the poll that produced the message. */
  traceparent?: string;
}

/**
 * The envelope on the queue. Payloads never sit at the top level, where names such as `id` or
 * `dequeueCount` would overwrite the Functions trigger metadata.
 */
export interface StudyMessageEnvelope {
  dicomCast: { version: 1; kind: 'study'; payload: StudyMessage };
}
