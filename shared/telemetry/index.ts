export * from './names.js';
export * from './redaction.js';
export * from './traceContext.js';
export * from './correlation.js';
export * from './telemetry.js';
export * from './setup.js';
export * from './failures.js';
