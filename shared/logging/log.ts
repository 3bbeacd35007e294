import type { InvocationContext } from '@azure/functions';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Structured log line; properties carry UIDs and counts, never patient data or secrets. */
export type Log = (level: LogLevel, message: string, properties?: Record<string, unknown>) => void;

/** Logs through the invocation context, so the host tags each line with the invocation (Application Insights). */
export function invocationLog(context: InvocationContext): Log {
  return (level, message, properties) => {
    const line = properties && Object.keys(properties).length ? `${message} ${JSON.stringify(properties)}` : message;
    if (level === 'debug') context.debug(line);
    else if (level === 'info') context.info(line);
    else if (level === 'warn') context.warn(line);
    else context.error(line);
  };
}
