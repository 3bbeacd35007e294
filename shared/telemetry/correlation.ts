import type { Attributes } from '@opentelemetry/api';
import { defaultPartition } from '../dicomweb/studyReader.js';
import { Attr } from './names.js';

/** One change, as both sides of the queue name it: the study and the highest change-feed sequence of the message. */
export interface Correlation {
  study: string;
  sequence: number;
  partition?: string;
}

/** `<study>@<sequence>` (`<partition>/<study>@<sequence>` for a named partition): the correlation id of a change. */
export function correlationId(correlation: Correlation): string {
  const partition = namedPartition(correlation.partition) ? `${correlation.partition}/` : '';
  return `${partition}${correlation.study}@${correlation.sequence}`;
}

/** The span attributes of a change. */
export function correlationAttributes(correlation: Correlation): Attributes {
  return {
    [Attr.correlationId]: correlationId(correlation),
    [Attr.study]: correlation.study,
    [Attr.sequence]: correlation.sequence,
    ...(namedPartition(correlation.partition) ? { [Attr.partition]: correlation.partition } : {}),
  };
}

/** The default partition is no partition: ids and attributes name only the others. */
function namedPartition(partition: string | undefined): partition is string {
  return partition !== undefined && partition !== '' && partition !== defaultPartition;
}
