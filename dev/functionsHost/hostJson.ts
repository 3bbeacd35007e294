import { readFileSync } from 'node:fs';

/** The parts of host.json the local host honours, with the Functions host's own defaults. */
export interface QueueHostSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
  messageEncoding: 'base64' | 'none';
}

export interface HostJson {
  queues: QueueHostSettings;
  functionTimeoutMs: number;
}

/** "hh:mm:ss" (optionally "d.hh:mm:ss") → milliseconds. */
export function parseTimeSpan(text: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`Invalid time span "${text}" in host.json`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction}`) * 1000)
  );
}

interface RawHostJson {
  functionTimeout?: string;
  extensions?: {
    queues?: {
      batchSize?: number;
      newBatchThreshold?: number;
      maxDequeueCount?: number;
      visibilityTimeout?: string;
      maxPollingInterval?: string;
      messageEncoding?: string;
    };
  };
}

export function readHostJson(path = 'host.json', cores = 1): HostJson {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawHostJson;
  const queues = raw.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return {
    functionTimeoutMs: raw.functionTimeout ? parseTimeSpan(raw.functionTimeout) : 10 * 60_000,
    queues: {
      batchSize,
      newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2) * cores,
      maxDequeueCount: queues.maxDequeueCount ?? 5,
      visibilityTimeoutMs: queues.visibilityTimeout ? parseTimeSpan(queues.visibilityTimeout) : 0,
      maxPollingIntervalMs: queues.maxPollingInterval ? parseTimeSpan(queues.maxPollingInterval) : 60_000,
      messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
    },
  };
}
