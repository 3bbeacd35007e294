import type { CliIo } from './io.js';

/** A progress bar for a walk whose total is unknown (QIDO-RS does not count): a moving block and the figures. */
export function progressLine(done: number, label: string, startedAt: number, now = Date.now()): string {
  const width = 20;
  const tick = Math.floor((now - startedAt) / 200) % (2 * (width - 4));
  const at = tick < width - 4 ? tick : 2 * (width - 4) - tick;
  const bar = ' '.repeat(at) + '####' + ' '.repeat(width - 4 - at);
  const seconds = Math.max(0.001, (now - startedAt) / 1000);
  return `[${bar}] ${done.toLocaleString('en-US')} ${label} (${(done / seconds).toFixed(1)}/s)`;
}

export interface ProgressDisplay {
  /** Draws the line now (besides every 200 ms). */
  redraw(): void;
  /** Stops redrawing and clears the line, so the output that follows starts on a clean line; idempotent. */
  stop(): void;
}

/** A progress line on stderr, redrawn every 200 ms, only when `shown` (default: stderr is a terminal). */
export function showProgress(
  io: Pick<CliIo, 'errIsTTY' | 'progress'>,
  label: string,
  done: () => number,
  shown = io.errIsTTY,
): ProgressDisplay {
  if (!shown) return { redraw: () => undefined, stop: () => undefined };
  const startedAt = Date.now();
  const redraw = () => io.progress(progressLine(done(), label, startedAt));
  const timer = setInterval(redraw, 200);
  let stopped = false;
  return {
    redraw,
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      io.progress('');
    },
  };
}
