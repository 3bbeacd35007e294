// Plain-text tables and target checks for the bench's output.

export interface Check {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
}

/** One scenario's part of the report: its tables and lines, its target checks and its raw figures. */
export interface Section {
  title: string;
  lines: string[];
  checks: Check[];
  data: unknown;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

export const mib = (bytes: number) => bytes / (1024 * 1024);

export const interactions = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ') || 'none';

export function atMost(name: string, actual: number, limit: number, digits: number, unit = ''): Check {
  return { name, target: `<= ${limit}${unit}`, actual: `${fixed(actual, digits)}${unit}`, pass: actual <= limit };
}

export function atLeast(name: string, actual: number, limit: number, digits: number, unit = ''): Check {
  return { name, target: `>= ${limit}${unit}`, actual: `${fixed(actual, digits)}${unit}`, pass: actual >= limit };
}

export function formatSections(header: string[], sections: Section[]): string {
  const out = [...header];
  for (const section of sections) {
    out.push('', `== ${section.title} ==`, ...section.lines);
  }
  const checks = sections.flatMap((section) => section.checks);
  out.push('', 'Targets:');
  for (const check of checks) {
    out.push(`  ${check.pass ? 'PASS' : '*** FAIL ***'}  ${check.name}: ${check.actual} (target ${check.target})`);
  }
  const failed = checks.filter((check) => !check.pass);
  out.push('');
  if (failed.length === 0) out.push(`All ${checks.length} targets met.`);
  else {
    const banner = '!'.repeat(100);
    out.push(
      banner,
      `!!! ${failed.length} of ${checks.length} targets FAILED: ${failed.map((c) => c.name).join('; ')}`,
    );
    out.push(banner);
  }
  return out.join('\n');
}
