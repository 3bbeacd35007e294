/**
 * The six-field NCRONTAB expressions the Functions timer trigger takes
 * ({second} {minute} {hour} {day} {month} {day-of-week}), enough to run the poller on its real schedule locally.
 * Supports `*`, `*\/n`, `a-b`, `a-b/n` and comma lists. Times are UTC, as on Azure by default.
 */
interface Field {
  min: number;
  max: number;
}

const fields: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 6 },
];

function parseField(text: string, field: Field, position: number): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`Invalid NCRONTAB field ${position + 1}: "${text}"`);
    const [, range = '*', stepText] = match;
    const step = stepText ? Number(stepText) : 1;
    const bounds = range.split('-').map(Number);
    const from = range === '*' ? field.min : (bounds[0] as number);
    const to = range === '*' ? field.max : range.includes('-') ? (bounds[1] as number) : stepText ? field.max : from;
    if (step < 1 || from < field.min || to > field.max || from > to) {
      throw new Error(`NCRONTAB field ${position + 1} out of range: "${text}"`);
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

export interface Schedule {
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

export function parseNcrontab(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new Error(
      `NCRONTAB needs six fields ({second} {minute} {hour} {day} {month} {day-of-week}): "${expression}"`,
    );
  }
  const [seconds, minutes, hours, days, months, weekdays] = parts.map((part, index) =>
    parseField(part, fields[index] as Field, index),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return {
    next(after: Date): Date {
      const candidate = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      // Bounded search: a valid expression matches within a year of seconds (checked minute by minute when possible).
      for (let guard = 0; guard < 600_000; guard++) {
        if (
          months.has(candidate.getUTCMonth() + 1) &&
          days.has(candidate.getUTCDate()) &&
          weekdays.has(candidate.getUTCDay()) &&
          hours.has(candidate.getUTCHours()) &&
          minutes.has(candidate.getUTCMinutes())
        ) {
          if (seconds.has(candidate.getUTCSeconds())) return candidate;
          candidate.setUTCSeconds(candidate.getUTCSeconds() + 1);
        } else {
          candidate.setUTCSeconds(0);
          candidate.setUTCMinutes(candidate.getUTCMinutes() + 1);
        }
      }
      throw new Error(`NCRONTAB "${expression}" never fires`);
    },
  };
}
