// CPU profiles of one bench phase (--cpu-prof-dir): node:inspector in this process, so a profile holds the phase
// only, not the set-up around it. Open the .cpuprofile files in Chrome DevTools or VS Code.
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class PhaseProfiler {
  private session: Session | undefined;

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 500 });
    await this.session.post('Profiler.start');
  }

  /** Stops and writes `<dir>/<name>.cpuprofile`; resolves to its path. */
  async stop(dir: string, name: string): Promise<string> {
    const session = this.session;
    if (!session) throw new Error('the profiler was not started');
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    this.session = undefined;
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${name}.cpuprofile`);
    await writeFile(path, JSON.stringify(profile));
    return path;
  }
}
