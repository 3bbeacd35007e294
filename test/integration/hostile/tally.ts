/**
 * Counts the hostile inputs of one test file by outcome, with the slowest case and the process's peak memory, and
 * prints them when the file is done (one line, for the closing note).
 */
export interface Tally {
  add(outcome: string, milliseconds?: number): void;
  print(): void;
}

export function tally(suite: string): Tally {
  const counts = new Map<string, number>();
  let slowestMs = 0;
  return {
    add(outcome, milliseconds = 0) {
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      slowestMs = Math.max(slowestMs, milliseconds);
    },
    print() {
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
      const parts = [...counts].map(([outcome, count]) => `${count} ${outcome}`).join(', ');
      const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
      console.log(
        `hostile inputs, ${suite}: ${total} (${parts}); slowest ${Math.round(slowestMs)} ms; peak RSS ${peakMb} MB`,
      );
    },
  };
}
