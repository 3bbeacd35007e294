import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

interface HostLogging {
  logLevel: Record<string, string>;
  applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes: string } };
}

const logging = (JSON.parse(readFileSync('host.json', 'utf8')) as { logging: HostLogging }).logging;
const functionNames = readdirSync('functions')
  .filter((name) => name.endsWith('.ts'))
  .map((name) => name.replace(/\.ts$/, ''));

/** The logging choices docs/operate.md explains; this keeps host.json and the function list in step. */
describe('host.json logging and sampling', () => {
  it('keeps host internals at Warning, invocation results and aggregates in full', () => {
    assert.equal(logging.logLevel.default, 'Warning');
    assert.equal(logging.logLevel['Host.Results'], 'Information', 'one requests row per invocation');
    assert.equal(logging.logLevel['Host.Aggregator'], 'Trace', 'per-function counts and durations');
    assert.equal(logging.logLevel.Function, 'Warning', "no 'Executing/Executed' lines: requests has them");
  });

  it("lets each function's own log lines through at Information", () => {
    for (const name of functionNames) {
      assert.equal(logging.logLevel[`Function.${name}.User`], 'Information', `Function.${name}.User`);
    }
  });

  it('samples host telemetry but never invocation results or exceptions', () => {
    const sampling = logging.applicationInsights.samplingSettings;
    assert.equal(sampling.isEnabled, true);
    assert.deepEqual(sampling.excludedTypes.split(';').sort(), ['Exception', 'Request']);
  });
});
