// A cold Functions worker, for the bench's start-up scenario: a fresh process that imports every function module
// (as the worker indexes the app), then runs the poller once with the settings in its environment. It reports
// how long the imports took; the parent times the first change-feed request as the DICOM server sees it.
const importStarted = performance.now();
await import('../functions/changeFeedPoller.js');
await import('../functions/changeFeedContinuation.js');
await import('../functions/imagingStudyWriter.js');
await import('../functions/poisonStudies.js');
await import('../functions/status.js');
const importMs = performance.now() - importStarted;

const { changeFeedPoller } = await import('../functions/changeFeedPoller.js');
const { createInvocationContext } = await import('../dev/functionsHost/invocationContext.js');
const now = new Date().toISOString();
await changeFeedPoller(
  { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: now, next: now, lastUpdated: now } },
  createInvocationContext('changeFeedPoller', {}, () => undefined),
);
const cpu = process.cpuUsage();
// CPU time as well as wall time: on a loaded machine the wall time mostly measures waiting for a core.
process.send?.({ importMs, cpuMs: (cpu.user + cpu.system) / 1000 });
