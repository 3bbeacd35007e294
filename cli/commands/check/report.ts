/** The lines `dicom-cast check` prints: a heading per part, then one status line per step. */

export type Status = 'ok' | 'FAIL' | 'warn' | 'auth' | 'info';

export class Report {
  failures = 0;
  constructor(private readonly out: (line: string) => void) {}
  heading(text: string) {
    this.out(text);
  }
  line(status: Status, text: string) {
    if (status === 'FAIL') this.failures++;
    this.out(`  ${status.padEnd(5)} ${text}`);
  }
}

/** Origin and path only: no user info, no query (a SAS or a key may hide there). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid URL)';
  }
}
