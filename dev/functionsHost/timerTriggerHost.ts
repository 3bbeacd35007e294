import type { InvocationContext, Timer } from '@azure/functions';
import { createInvocationContext, type HostLog } from './invocationContext.js';
import { parseNcrontab, type Schedule } from './ncrontab.js';

export type TimerHandler = (timer: Timer, context: InvocationContext) => Promise<void>;

/**
 * Runs a timer-triggered handler on its NCRONTAB schedule, one run at a time: like the Functions host, a tick
 * that comes while a run is still going is skipped, and a run that starts late is marked `isPastDue`.
 */
export class TimerTriggerHost {
  private readonly schedule: Schedule;
  private timeout: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private last: Date | undefined;
  runs = 0;

  constructor(
    private readonly functionName: string,
    expression: string,
    private readonly handler: TimerHandler,
    private readonly log: HostLog,
  ) {
    this.schedule = parseNcrontab(expression);
  }

  start(): void {
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    if (this.timeout) clearTimeout(this.timeout);
    this.timeout = undefined;
    await this.current;
  }

  /** One invocation now (what `runOnStartup` or the portal's "Run" would do). */
  async fire(isPastDue = false): Promise<void> {
    if (this.current) return this.current;
    const now = new Date();
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: false },
      scheduleStatus: {
        last: (this.last ?? now).toISOString(),
        next: this.schedule.next(now).toISOString(),
        lastUpdated: now.toISOString(),
      },
    };
    this.last = now;
    this.runs++;
    const context = createInvocationContext(this.functionName, {}, this.log);
    const started = Date.now();
    const executed = (outcome: string) =>
      this.log(
        'debug',
        this.functionName,
        `Executed 'Functions.${this.functionName}' (${outcome}, Id=${context.invocationId}, Duration=${Date.now() - started}ms)`,
      );
    this.log(
      'debug',
      this.functionName,
      `Executing 'Functions.${this.functionName}' (Reason='Timer fired at ${now.toISOString()}', Id=${context.invocationId})`,
    );
    this.current = this.handler(timer, context)
      .then(() => executed('Succeeded'))
      .catch((error: unknown) => {
        executed('Failed');
        this.log('error', this.functionName, 'Timer invocation failed', error);
      })
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }

  private scheduleNext(): void {
    const due = this.schedule.next(new Date());
    this.timeout = setTimeout(
      () => {
        const late = Date.now() - due.getTime() > 1000;
        if (!this.current) void this.fire(late);
        this.scheduleNext();
      },
      Math.max(0, due.getTime() - Date.now()),
    );
  }
}
